/**
 * Where this package is installed (core/bundle.js finds it, for the launcher too), and the URLs
 * of its source modules, which hold whether the sources run through tsx or from a bundle.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PACKAGE_ROOT } from './bundle.js';

export { PACKAGE_ROOT };

/** The file URL of a source module, given its path from the package root (`src/...ts`). */
export function sourceModule(relative: string): string {
  return pathToFileURL(path.join(PACKAGE_ROOT, relative)).href;
}
