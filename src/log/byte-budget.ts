/**
 * A counting budget of bytes in flight, for admission control: ingest reserves a request's
 * body size before reading it and releases it when the response is done, so the memory that
 * request bodies (and what is made from them) can pin stays bounded whatever the load.
 */
export class ByteBudget {
  /** Bytes reserved now. Owned by the event loop. */
  private used = 0;

  constructor(readonly capacity: number) {}

  /**
   * Reserves `bytes` if they fit. A request larger than the whole budget is still admitted when
   * nothing else is in flight, so one maximal body can always get through on an idle server.
   */
  tryReserve(bytes: number): boolean {
    if (this.used > 0 && this.used + bytes > this.capacity) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
