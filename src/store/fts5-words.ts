/**
 * The words of a search text, split and folded exactly as SQLite's FTS5 `unicode61` tokenizer
 * with `remove_diacritics 2` does it (the SQLite engine's full-text table, sqlite-migrations.ts).
 * The PostgreSQL engine indexes these words, so that a full-text term finds the same entries on
 * both engines (store.ts SearchQuery.terms).
 *
 * Why not PostgreSQL's own parser: `to_tsvector` reads `203.0.113.7` as one host token and
 * `jose@example.com` as one email token, its idea of a letter depends on the database's locale,
 * and `unaccent` folds `ß` to `ss` where FTS5 keeps it. FTS5 works one code point at a time: each
 * is a separator, or part of a word, where it folds to one code point (case folding and, for
 * Latin letters, diacritic removal, by FTS5's own Unicode 6.1 tables) or to nothing (a combining
 * mark). So rather than copy those tables, this module asks FTS5 itself, once per code point it
 * has not met before, and remembers the answer. A word is then a maximal run of non-separators,
 * folded; a run that folds to nothing is no word, as in FTS5.
 *
 * test/store/fts5-words.test.ts compares every code point of the first three planes, and texts
 * of mixed scripts, with what FTS5 itself stores.
 */
import Database from 'better-sqlite3';

/** A code point that ends a word. */
const SEPARATOR = -1;
/** A code point that belongs to a word but adds nothing to it (a combining diacritic). */
const NOTHING = -2;

/** FTS5's answer per code point: SEPARATOR, NOTHING or the folded code point. */
const folds = new Map<number, number>();
let probe: Database.Database | undefined;

/** Asks FTS5 about code points not seen before: each alone inside a word, `q<c>z`. */
function learn(codePoints: Iterable<number>): void {
  const unknown = [...new Set(codePoints)].filter((c) => !folds.has(c));
  if (unknown.length === 0) return;
  if (!probe) {
    probe = new Database(':memory:');
    probe.exec(`CREATE VIRTUAL TABLE probe USING fts5 (text, tokenize = 'unicode61 remove_diacritics 2')`);
    probe.exec(`CREATE VIRTUAL TABLE probe_terms USING fts5vocab (probe, 'instance')`);
  }
  const db = probe;
  const insert = db.prepare('INSERT INTO probe (rowid, text) VALUES (?, ?)');
  const rows = db.transaction(() => {
    unknown.forEach((c, i) => insert.run(i + 1, `q${String.fromCodePoint(c)}z`));
    const terms = db.prepare<[], { doc: number; term: string }>('SELECT doc, term FROM probe_terms ORDER BY doc, offset').all();
    db.exec('DELETE FROM probe');
    return terms;
  })();
  const byDoc = new Map<number, string[]>();
  for (const { doc, term } of rows) byDoc.set(doc, [...(byDoc.get(doc) ?? []), term]);
  unknown.forEach((c, i) => {
    const terms = byDoc.get(i + 1) ?? [];
    if (terms.length !== 1) folds.set(c, SEPARATOR); // `q` and `z` apart
    else if (terms[0] === 'qz') folds.set(c, NOTHING);
    else folds.set(c, [...terms[0]!.slice(1, -1)][0]!.codePointAt(0)!);
  });
}

// ASCII up front: most text is ASCII, and its answers are then a plain lookup.
learn(Array.from({ length: 128 }, (_, c) => c));

/**
 * ASCII text takes a faster path (the search indexer spends most of its time here): 1 for an
 * ASCII code unit FTS5 keeps in a word, 0 for a separator. It is valid only while FTS5 folds
 * every ASCII word character to its own lowercase and drops none, which is checked here
 * against FTS5's answers rather than assumed.
 */
const ASCII_WORD = new Uint8Array(128);
const ASCII_FOLDS_TO_LOWERCASE = Array.from({ length: 128 }, (_, c) => {
  const fold = folds.get(c)!;
  if (fold === SEPARATOR) return true;
  ASCII_WORD[c] = 1;
  return fold === String.fromCharCode(c).toLowerCase().charCodeAt(0);
}).every(Boolean);

/** The text's words, in order (lowercase, diacritics of Latin letters removed). */
export function fts5Words(text: string): string[] {
  if (/[^\x00-\x7f]/.test(text)) learn(nonAscii(text));
  else if (ASCII_FOLDS_TO_LOWERCASE) return asciiWords(text);
  const words: string[] = [];
  let word = '';
  for (const ch of text) {
    const fold = folds.get(ch.codePointAt(0)!)!;
    if (fold === SEPARATOR) {
      if (word !== '') words.push(word);
      word = '';
    } else if (fold !== NOTHING) {
      word += String.fromCodePoint(fold);
    }
  }
  if (word !== '') words.push(word);
  return words;
}

/** fts5Words of ASCII text: runs of word characters, lowercased (ASCII_FOLDS_TO_LOWERCASE). */
function asciiWords(text: string): string[] {
  const lower = text.toLowerCase(); // ASCII in, ASCII out: the same positions
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i < lower.length; i++) {
    if (ASCII_WORD[lower.charCodeAt(i)] === 1) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      words.push(lower.slice(start, i));
      start = -1;
    }
  }
  if (start >= 0) words.push(lower.slice(start));
  return words;
}

function* nonAscii(text: string): Iterable<number> {
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c > 0x7f) yield c;
  }
}
