/**
 * The chunk buffer under the capture readers: the file is read in chunks
 * into one reused buffer, never whole, so a capture larger than memory can
 * be annotated, and a record is read where it lies, without a copy.
 *
 * @module
 */

/** Where the bytes come from; `read` fills what it can of `into`, null at the end (as `Deno.FsFile.read`). */
export interface ByteSource {
  read(into: Uint8Array): Promise<number | null>;
  close(): Promise<void>;
}

/**
 * A stream as a {@linkcode ByteSource}: each chunk is copied into the
 * reader's buffer, the part that does not fit kept for the next read.
 *
 * @example
 * ```ts
 * import { streamSource } from "./chunks.ts";
 * const source = streamSource(new Blob([new Uint8Array([1, 2, 3])]).stream());
 * const into = new Uint8Array(2);
 * console.log(await source.read(into), into); // 2 Uint8Array(2) [ 1, 2 ]
 * ```
 */
export function streamSource(stream: ReadableStream<Uint8Array>): ByteSource {
  const reader = stream.getReader();
  let pending: Uint8Array | undefined;
  return {
    async read(into) {
      while (!pending?.length) {
        const { value, done } = await reader.read();
        if (done) return null;
        pending = value;
      }
      const count = Math.min(pending.length, into.length);
      into.set(count === pending.length ? pending : pending.subarray(0, count));
      pending = pending.subarray(count);
      return count;
    },
    async close() {
      await reader.cancel().catch(() => {});
    },
  };
}

/**
 * An open file as a {@linkcode ByteSource}: read straight into the buffer,
 * no copy. Closing it is left to whoever opened the file.
 *
 * @example
 * ```ts ignore
 * import { fileSource } from "./chunks.ts";
 * import { CaptureScanner } from "./reader.ts";
 * using file = await Deno.open("handshake.pcap");
 * const scanner = await CaptureScanner.open(fileSource(file), 256 * 1024);
 * ```
 */
export function fileSource(file: Deno.FsFile): ByteSource {
  return { read: (into) => file.read(into), close: () => Promise.resolve() };
}

/**
 * A byte source read in chunks into one reused buffer. `fill(n)` makes
 * sure n bytes are buffered (false at the end of the file); between fills
 * a format reads its records synchronously where they lie. The buffer is
 * compacted and grown in place, so memory stays at one buffer, grown only
 * for a record larger than it, however large the file.
 */
export class ChunkBuffer {
  #source: ByteSource;
  #done = false;
  /** The buffer; bytes[start, end) are read and not yet consumed. */
  bytes: Uint8Array;
  view: DataView;
  start = 0;
  end = 0;
  /** File offset of bytes[start]. */
  offset = 0;

  /** `size`: the buffer's first size; reads are at most this large until a record needs more. */
  constructor(source: ByteSource, size: number) {
    this.#source = source;
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  get available(): number {
    return this.end - this.start;
  }

  /** True when n bytes are already here: most records need no read. */
  has(n: number): boolean {
    return this.end - this.start >= n;
  }

  /** Reads until n bytes are buffered; false when the file ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.end - this.start < n && !this.#done) {
      if (n > this.bytes.length) this.#grow(n);
      // Move the unread tail (less than a record) to the front when the
      // record would not fit behind it, or when half the buffer is spent:
      // reads then stay large.
      else if (this.start + n > this.bytes.length || this.start >= this.bytes.length / 2) this.#compact();
      const read = await this.#source.read(this.bytes.subarray(this.end));
      if (read === null) this.#done = true;
      else this.end += read;
    }
    return this.end - this.start >= n;
  }

  #grow(n: number): void {
    const bigger = new Uint8Array(Math.max(this.bytes.length * 2, n));
    bigger.set(this.bytes.subarray(this.start, this.end));
    this.end -= this.start;
    this.start = 0;
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }

  #compact(): void {
    this.bytes.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
  }

  /** The 32-bit number `at` bytes ahead (has() first). */
  uint32(at: number, little: boolean): number {
    return this.view.getUint32(this.start + at, little);
  }

  /** The 16-bit number `at` bytes ahead (has() first). */
  uint16(at: number, little: boolean): number {
    return this.view.getUint16(this.start + at, little);
  }

  skip(n: number): void {
    this.start += n;
    this.offset += n;
  }

  async close(): Promise<void> {
    await this.#source.close();
  }
}
