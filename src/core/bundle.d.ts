// Types for bundle.js, which stays plain JavaScript because the launcher runs it before any
// TypeScript can be compiled.
export declare const PACKAGE_ROOT: string;
export declare const CACHE_DIR: string;
export declare function sourceFingerprint(): string;
export declare function bundleFor(name: string, entry: string): string;
