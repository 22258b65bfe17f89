/**
 * Fixed-capacity byte ring: keeps the last `capacity` bytes written. Used for the
 * supervised command's output (and later terminal scrollback); memory never grows.
 */
export class RingBuffer {
  private readonly buf: Buffer;
  /** Next write position. */
  private head = 0;
  /** Bytes currently held (≤ capacity). */
  private held = 0;
  /** Bytes ever written, so readers can tell how much was lost. */
  totalWritten = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new Error('capacity must be a positive integer');
    this.buf = Buffer.alloc(capacity);
  }

  get size(): number {
    return this.held;
  }

  write(chunk: Buffer): void {
    this.totalWritten += chunk.length;
    // Only the tail of an oversized chunk can survive.
    const data = chunk.length > this.capacity ? chunk.subarray(chunk.length - this.capacity) : chunk;
    const first = Math.min(data.length, this.capacity - this.head);
    data.copy(this.buf, this.head, 0, first);
    if (first < data.length) data.copy(this.buf, 0, first);
    this.head = (this.head + data.length) % this.capacity;
    this.held = Math.min(this.capacity, this.held + data.length);
  }

  /** A copy of the held bytes, oldest first; `lastBytes` limits it to the newest N. */
  snapshot(lastBytes = this.held): Buffer {
    const n = Math.max(0, Math.min(lastBytes, this.held));
    const start = (this.head - n + this.capacity) % this.capacity;
    if (start + n <= this.capacity) return Buffer.from(this.buf.subarray(start, start + n));
    return Buffer.concat([this.buf.subarray(start), this.buf.subarray(0, (start + n) % this.capacity)]);
  }

  clear(): void {
    this.head = 0;
    this.held = 0;
  }
}
