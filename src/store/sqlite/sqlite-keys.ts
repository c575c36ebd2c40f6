/**
 * Entries of every log share one B-tree whose key packs (project, index) as
 * `pk · 2^32 + index`: one insert per entry, appended at the end of the project's key range.
 * The search file's tables use the same keys, so a search hit names its entry directly.
 * JavaScript numbers hold the key exactly while pk < 2^21.
 */
export const INDEX_BITS = 2 ** 32;

export function entryKey(pk: number, index: number): number {
  return pk * INDEX_BITS + index;
}
