/**
 * ETag and If-Match for versioned configuration documents (RFC 9110 §8.8.3, §13.1.1): the ETag
 * is the strong, quoted version counter of the setting (`"7"`). If-Match may be `*` (any
 * version), or a list of entity tags; weak tags never match, as strong comparison requires.
 */

export function etag(version: number): string {
  return `"${version}"`;
}

/** The If-Match precondition of a header value, or undefined when there is none (an unconditional write). */
export function ifMatch(header: string | string[] | undefined): { matches(version: number): boolean; header: string } | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text.trim() === '*') return { matches: () => true, header: text };
  const tags = new Set(
    text
      .split(',')
      .map((tag) => tag.trim())
      .filter((tag) => /^"[^"]*"$/.test(tag)),
  );
  return { matches: (version) => tags.has(etag(version)), header: text };
}
