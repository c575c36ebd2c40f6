/**
 * What both engines keep of a search document's exact-match strings (eventName, eventSource,
 * sourceIp, each actor): the same rule on both, so that the same data gives the same results.
 */

/** Strings longer than this are not kept for exact match (they stay searchable as full text). */
const MAX_SEARCH_FIELD_CHARS = 512;

/** The value if it is kept for exact match, else null. */
export function searchField(value: string | null): string | null {
  return value !== null && value.length <= MAX_SEARCH_FIELD_CHARS ? value : null;
}
