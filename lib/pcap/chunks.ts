/**
 * The chunk buffer under the capture readers: the file is read in chunks,
 * never whole, so a capture larger than memory can be annotated.
 *
 * @module
 */

/**
 * A byte source read in chunks into one reused buffer, with just enough
 * lookahead for one record. `need(n)` makes sure n bytes are buffered
 * (false at a clean end of file). The buffer is compacted and grown in
 * place, so memory stays at about one chunk plus the largest record,
 * however large the file.
 */
export class ChunkedSource {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = new Uint8Array(256 * 1024);
  #view = new DataView(this.#buffer.buffer);
  #start = 0;
  #end = 0;
  #done = false;
  /** File offset of #buffer[#start]. */
  offset = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  get available(): number {
    return this.#end - this.#start;
  }

  /** True at once when n bytes are already here: most calls need no await. */
  has(n: number): boolean {
    return this.#end - this.#start >= n;
  }

  async need(n: number): Promise<boolean> {
    while (this.available < n && !this.#done) {
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#done = true;
        break;
      }
      this.#append(value);
    }
    return this.available >= n;
  }

  #append(chunk: Uint8Array): void {
    const kept = this.available;
    if (kept + chunk.length > this.#buffer.length) {
      // Grow (rarely: a chunk or a record larger than the buffer).
      const bigger = new Uint8Array(
        Math.max(this.#buffer.length * 2, kept + chunk.length),
      );
      bigger.set(this.#buffer.subarray(this.#start, this.#end));
      this.#buffer = bigger;
      this.#view = new DataView(bigger.buffer);
    } else if (this.#end + chunk.length > this.#buffer.length) {
      // Slide what is left to the front: records taken earlier were copies.
      this.#buffer.copyWithin(0, this.#start, this.#end);
    } else {
      this.#buffer.set(chunk, this.#end);
      this.#end += chunk.length;
      return;
    }
    this.#start = 0;
    this.#end = kept;
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** Reads a 32-bit number `at` bytes ahead (need() first). */
  uint32(at: number, little: boolean): number {
    return this.#view.getUint32(this.#start + at, little);
  }

  /** A view of the next n bytes (valid until the next need()). */
  peek(n: number): DataView {
    return new DataView(this.#buffer.buffer, this.#start, n);
  }

  /** Consumes n bytes and returns a copy of them, safe to keep. */
  take(n: number): Uint8Array {
    const bytes = this.#buffer.slice(this.#start, this.#start + n);
    this.skip(n);
    return bytes;
  }

  skip(n: number): void {
    this.#start += n;
    this.offset += n;
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}
