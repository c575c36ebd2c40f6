/**
 * fts5Words (the words the PostgreSQL engine indexes) against SQLite's FTS5 itself, the
 * tokenizer the SQLite engine indexes with: every code point of the first three planes and a
 * sample of the rest, inside words, between words and alone, must give FTS5's words exactly.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { fts5Words } from '../../src/store/fts5-words.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

/** FTS5's words of each text, in order, from a table tokenized like the SQLite engine's. */
function fts5Reference(texts: readonly string[]): string[][] {
  const db = new Database(':memory:');
  try {
    db.exec(`CREATE VIRTUAL TABLE t USING fts5 (text, tokenize = 'unicode61 remove_diacritics 2')`);
    db.exec(`CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')`);
    const insert = db.prepare('INSERT INTO t (rowid, text) VALUES (?, ?)');
    db.transaction(() => texts.forEach((text, i) => insert.run(i + 1, text)))();
    const words: string[][] = texts.map(() => []);
    for (const row of db.prepare<[], { doc: number; term: string }>('SELECT doc, term FROM v ORDER BY doc, offset').all()) words[row.doc - 1]!.push(row.term);
    return words;
  } finally {
    db.close();
  }
}

function codePoints(from: number, to: number, step = 1): number[] {
  const out: number[] = [];
  for (let c = from; c < to; c += step) if (c < 0xd800 || c > 0xdfff) out.push(c);
  return out;
}

describe('fts5Words', () => {
  it('splits and folds like FTS5 unicode61 remove_diacritics 2, for every code point of planes 0-2', () => {
    const random = seededRandom(7); // so a failure names the same text every run
    const all = [...codePoints(0, 0x30000), ...codePoints(0x30000, 0x110000, 97)];
    const texts: string[] = [];
    for (let i = 0; i < all.length; i += 16) {
      // Each code point alone between ASCII letters, then the group run together with spaces,
      // digits and letters mixed in, so folds, separators and dropped marks meet each other.
      const group = all.slice(i, i + 16).map((c) => String.fromCodePoint(c));
      texts.push(group.map((ch) => `a${ch}b`).join(' '));
      texts.push(group.map((ch) => (random() < 0.3 ? ` ${ch}` : random() < 0.5 ? `${ch}7` : `Ü${ch}`)).join(''));
    }
    const expected = fts5Reference(texts);
    const mismatches = texts.flatMap((text, i) => {
      const got = fts5Words(text);
      return JSON.stringify(got) === JSON.stringify(expected[i]) ? [] : [{ text, expected: expected[i], got }];
    });
    assert.deepEqual(mismatches.slice(0, 5), []);
  });

  it('gives the words of texts as audit events hold them', () => {
    const texts = [
      'Access DENIED for user alice from 203.0.113.7',
      'Café opened by josé@example.com — straße, ﬁle, İstanbul, Ǆemal, µs, ſ',
      'arn:aws:iam::123456789012:user/Alice_Smith x-amz-id:AbC/9+z== 2026-01-01T00:00:00.000Z',
      'Ελληνικά ΣΊΣΥΦΟΣ русский ЙОД 日本語のテキスト 한국어 العربية ١٢٣ हिन्दी',
      'e\u0301clair a\u0300 \u0301lone 😀emoji🎉 tab\there new\nline NUL\u0000byte',
      '',
    ];
    assert.deepEqual(texts.map(fts5Words), fts5Reference(texts));
  });
});
