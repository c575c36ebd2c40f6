/**
 * A Map of at most `limit` entries that forgets the least recently set first: `set` moves its
 * key to the end (a Map iterates in insertion order) and drops the first key when over the
 * limit. A caller that wants a read to count as use sets the value again. The bounded caches
 * (tree edges, tiles, audit policies, the sequencer's lookup windows) are all this.
 */
export class LruMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.limit) super.delete(this.keys().next().value!);
    return this;
  }
}
