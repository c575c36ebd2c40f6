/**
 * DESIGN.md's layer table as a test (STYLE.md §12): every import in src/ must point at a layer
 * the importing layer may use, and stores never see HTTP.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

/** layer -> layers it may import (DESIGN.md "Layers"). */
const ALLOWED: Record<string, string[]> = {
  core: ['core'],
  store: ['core', 'store'],
  log: ['core', 'store', 'log'],
  policy: ['core', 'policy'],
  query: ['core', 'store', 'log', 'query'],
  forward: ['core', 'store', 'forward'],
  auth: ['core', 'store', 'auth'],
  api: ['core', 'store', 'log', 'policy', 'query', 'forward', 'auth', 'api'],
  cli: ['core', 'store', 'log', 'policy', 'query', 'forward', 'auth', 'api', 'cli'],
  console: [],
};

/** Packages a layer must never import. */
const FORBIDDEN_PACKAGES: Record<string, RegExp> = {
  core: /^(fastify|@fastify\/|better-sqlite3|pg)$/,
  store: /^(fastify|@fastify\/|fastify-plugin)/,
  log: /^(fastify|@fastify\/|fastify-plugin|better-sqlite3|pg)/,
  policy: /^(fastify|@fastify\/|better-sqlite3|pg)/,
};

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

function layerOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!;
}

describe('architecture', () => {
  it('imports follow the layer table of DESIGN.md', () => {
    const violations: string[] = [];
    for (const file of files(SRC)) {
      if (path.dirname(file) === SRC) continue; // src/index.ts, the public barrel
      const layer = layerOf(file);
      const text = fs.readFileSync(file, 'utf8');
      for (const match of text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
        const target = match[1]!;
        if (target.startsWith('.')) {
          const targetLayer = layerOf(path.resolve(path.dirname(file), target));
          if (!(ALLOWED[layer] ?? []).includes(targetLayer)) violations.push(`${path.relative(SRC, file)} imports ${target} (${layer} -> ${targetLayer})`);
        } else if (FORBIDDEN_PACKAGES[layer]?.test(target)) {
          violations.push(`${path.relative(SRC, file)} imports package ${target}`);
        }
      }
      // Dialect adapters stay thin: they never reach into a store.
      if (path.relative(SRC, file).startsWith(path.join('api', 'compat'))) {
        for (const match of text.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
          if (match[1]!.startsWith('.') && layerOf(path.resolve(path.dirname(file), match[1]!)) === 'store' && path.basename(match[1]!) !== 'store.ts') {
            violations.push(`${path.relative(SRC, file)} reaches into a store engine: ${match[1]}`);
          }
        }
      }
    }
    assert.deepEqual(violations, []);
  });

  it('every layer folder is one DESIGN.md names', () => {
    const folders = fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    for (const folder of folders) assert.ok(folder in ALLOWED, `src/${folder} is not a layer of DESIGN.md`);
  });
});
