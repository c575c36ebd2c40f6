/**
 * tsx compiles each .ts file to whitespace-minified JavaScript, so a CPU profile's line numbers
 * all read 1 or 2. tsx keeps each compiled file with its source map in its cache directory
 * (`<tmp>/tsx-<uid>/`); this finds the map whose source is the current text of the file and
 * turns a profile's (line, column) into the original line. Best effort: when no map is found
 * the caller keeps the compiled position.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface SourceMap {
  mappings: string;
  sources: string[];
  sourcesContent?: string[];
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Per generated line, the segments [generatedColumn, originalLine] in column order. */
function decode(mappings: string): Array<Array<[number, number]>> {
  const lines: Array<Array<[number, number]>> = [];
  let originalLine = 0;
  for (const line of mappings.split(';')) {
    const segments: Array<[number, number]> = [];
    let column = 0;
    for (const segment of line.split(',')) {
      if (!segment) continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const digit = BASE64.indexOf(char);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      column += values[0]!;
      if (values.length >= 4) {
        originalLine += values[2]!;
        segments.push([column, originalLine]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

export class SourceLines {
  /** Decoded maps by source file, built on first use from every entry of tsx's cache. */
  private maps: Map<string, Array<Array<[number, number]>>> | undefined;

  /** The 1-based original line of a 0-based generated (line, column) in `file`, if known. */
  originalLine(file: string, line: number, column: number): number | undefined {
    const segments = this.index().get(file)?.[line];
    if (!segments || segments.length === 0) return undefined;
    let found: number | undefined;
    for (const [generated, original] of segments) {
      if (generated > column) break;
      found = original;
    }
    return found === undefined ? undefined : found + 1;
  }

  private index(): Map<string, Array<Array<[number, number]>>> {
    if (this.maps) return this.maps;
    // Per source file, the cache entry to trust: one whose embedded source is the file as it is
    // now, else the newest (the cache also holds older versions, and some entries embed no source).
    const best = new Map<string, { map: SourceMap; exact: boolean; mtime: number }>();
    const dir = path.join(os.tmpdir(), `tsx-${os.userInfo().uid}`);
    for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      try {
        const file = path.join(dir, name);
        const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as { map?: SourceMap | string };
        const map = typeof entry.map === 'string' ? (JSON.parse(entry.map) as SourceMap) : entry.map;
        const source = map?.sources[0];
        if (!map || !source || !fs.existsSync(source)) continue;
        const exact = map.sourcesContent?.[0] === fs.readFileSync(source, 'utf8');
        const mtime = fs.statSync(file).mtimeMs;
        const current = best.get(source);
        if (!current || (exact && !current.exact) || (exact === current.exact && mtime > current.mtime)) best.set(source, { map, exact, mtime });
      } catch {
        // Not a cache entry we understand; its files keep compiled positions.
      }
    }
    this.maps = new Map([...best].map(([source, { map }]) => [source, decode(map.mappings)]));
    return this.maps;
  }
}
