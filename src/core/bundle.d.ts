// Types for bundle.js, which stays plain JavaScript because the launcher runs it before any
// TypeScript can be compiled.
import type { buildSync } from 'esbuild';

export declare const PACKAGE_ROOT: string;
export declare const CACHE_DIR: string;
export declare function buildBundle(entry: string): Promise<Uint8Array>;
export declare function buildBundleWith(build: typeof buildSync, entry: string): Uint8Array;
export declare function bundlePath(name: string, tag: string): string;
export declare function saveBundle(name: string, tag: string, code: Uint8Array): string;
