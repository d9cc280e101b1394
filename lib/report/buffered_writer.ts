/**
 * Output for a million lines: text is written byte by byte straight into
 * one reused buffer, which goes out in large pieces. One write (one system
 * call) per line costs more than everything else the line took to make,
 * and a string per line is garbage the collector must chase: here a line
 * costs neither.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** "00" to "99": two digits per step when writing a number. */
const DIGIT_PAIRS = encoder.encode(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0")).join(""));

/**
 * Bytes gathered in a buffer and written to `writer` in large pieces.
 * Each method writes at `used` and assumes the room is there: call
 * {@linkcode room} first with an upper bound for what follows.
 *
 * There are two buffers: while one is being written (the write runs on
 * another thread), the other fills. Writing a large output to a file then
 * costs the time of the slower of the two, not of both.
 *
 * @example
 * ```ts
 * import { BufferedByteWriter } from "./buffered_writer.ts";
 * const out = new BufferedByteWriter(Deno.stdout);
 * await out.room(64);
 * out.ascii("packets: ");
 * out.uint(1_000_040);
 * out.byte(0x0a);
 * await out.flush(); // packets: 1000040
 * ```
 */
export class BufferedByteWriter {
  /** The buffer being filled. */
  bytes: Uint8Array;
  used = 0;
  /** The other buffer, once there is one; it is free when no write is in flight. */
  #spare: Uint8Array | undefined;
  /** The write in flight: awaited before its buffer is filled again, its error thrown then. */
  #writing: Promise<void> | undefined;

  /** `writer` may be left out for a scratch buffer, read back with {@linkcode take}. */
  constructor(
    readonly writer?: { write(bytes: Uint8Array): Promise<number> },
    size = 256 * 1024,
  ) {
    this.bytes = new Uint8Array(size);
  }

  /** Makes sure `n` bytes fit, handing the full buffer to the writer if not; a promise only then (await it). */
  room(n: number): Promise<void> | void {
    if (this.bytes.length - this.used >= n) return;
    if (n > this.bytes.length) throw new RangeError(`Cannot buffer ${n} bytes: the buffer holds ${this.bytes.length}`);
    return this.#handOver();
  }

  /** Starts writing what has gathered and goes on in the other buffer, once that one's write is done. */
  async #handOver(): Promise<void> {
    const writer = this.#writerOrThrow();
    await this.#writing;
    const full = this.bytes;
    const writing = writeAll(writer, full, this.used);
    // Handled here so that an error waits for the next await instead of ending the process.
    writing.catch(() => {});
    this.#writing = writing;
    this.bytes = this.#spare ?? new Uint8Array(full.length);
    this.#spare = full;
    this.used = 0;
  }

  /** Writes whatever has gathered, and waits until all of it is written. */
  async flush(): Promise<void> {
    const writer = this.#writerOrThrow();
    const writing = this.#writing;
    this.#writing = undefined;
    await writing;
    await writeAll(writer, this.bytes, this.used);
    this.used = 0;
  }

  #writerOrThrow(): { write(bytes: Uint8Array): Promise<number> } {
    if (!this.writer) throw new TypeError("Cannot write out a scratch buffer: it has no writer");
    return this.writer;
  }

  /** What has gathered, as text, and empties the buffer (for a scratch buffer). */
  take(): string {
    const text = decoder.decode(this.bytes.subarray(0, this.used));
    this.used = 0;
    return text;
  }

  byte(value: number): void {
    this.bytes[this.used++] = value;
  }

  /** Text known to be ASCII (a constant, digits): one byte per character, no encoder call. */
  ascii(text: string): void {
    const bytes = this.bytes;
    let used = this.used;
    for (let i = 0; i < text.length; i++) bytes[used++] = text.charCodeAt(i);
    this.used = used;
  }

  /** Any text, as UTF-8. */
  text(text: string): void {
    this.used += encoder.encodeInto(text, this.bytes.subarray(this.used)).written;
  }

  /** Bytes encoded beforehand (a constant with non-ASCII characters). */
  copy(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** `count` spaces (none when count ≤ 0): padding to a column. */
  spaces(count: number): void {
    const bytes = this.bytes;
    for (let i = 0; i < count; i++) bytes[this.used++] = 0x20;
  }

  /** A whole number from 0 to 2^53 in decimal, as String(n) writes it. */
  uint(value: number): void {
    const bytes = this.bytes;
    const end = this.used + digitCount(value);
    let at = end;
    let rest = value;
    // Two digits a step. The floor of a quotient of whole numbers below 2^53 is exact.
    while (rest >= 100) {
      const next = Math.floor(rest / 100);
      const pair = 2 * (rest - next * 100);
      bytes[--at] = DIGIT_PAIRS[pair + 1];
      bytes[--at] = DIGIT_PAIRS[pair];
      rest = next;
    }
    if (rest >= 10) {
      bytes[--at] = DIGIT_PAIRS[2 * rest + 1];
      bytes[--at] = DIGIT_PAIRS[2 * rest];
    } else {
      bytes[--at] = 0x30 + rest;
    }
    this.used = end;
  }

  /** `value` (0 ≤ value < 10^width) in exactly `width` digits, zeros in front. */
  fixedDigits(value: number, width: number): void {
    const bytes = this.bytes;
    let rest = value;
    for (let at = this.used + width - 1; at >= this.used; at--) {
      const next = Math.floor(rest / 10);
      bytes[at] = 0x30 + rest - next * 10;
      rest = next;
    }
    this.used += width;
  }
}

/**
 * How many characters `uint(value)` writes: for padding a number to a column.
 *
 * @example
 * ```ts
 * import { digitCount } from "./buffered_writer.ts";
 * console.log(digitCount(0), digitCount(65_535), digitCount(2 ** 32)); // 1 5 10
 * ```
 */
export function digitCount(value: number): number {
  if (value < 10) return 1;
  if (value < 100) return 2;
  if (value < 1000) return 3;
  if (value < 10000) return 4;
  if (value < 100000) return 5;
  let digits = 6;
  for (let bound = 1e6; value >= bound; bound *= 10) digits++;
  return digits;
}

/** Writes `length` bytes of `bytes` to `writer`, however many writes that takes. */
async function writeAll(
  writer: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
  length: number,
): Promise<void> {
  for (let written = 0; written < length;) {
    written += await writer.write(bytes.subarray(written, length));
  }
}
