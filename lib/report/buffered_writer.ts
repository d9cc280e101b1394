/**
 * Line output for a million lines: text is encoded straight into one
 * buffer and written in large pieces, because one write (one system call)
 * per line costs more than everything else the line took to make.
 *
 * @module
 */

/** Encodes text into a fixed buffer and writes it to `writer` when full. */
export class BufferedTextWriter {
  #buffer: Uint8Array;
  #used = 0;
  #encoder = new TextEncoder();

  constructor(
    readonly writer: { write(bytes: Uint8Array): Promise<number> },
    size = 256 * 1024,
  ) {
    this.#buffer = new Uint8Array(size);
  }

  /** Adds `text`; returns a promise only when it had to write (await it then). */
  write(text: string): Promise<void> | void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (this.#buffer.length - this.#used < text.length * 3) {
      if (text.length * 3 > this.#buffer.length) return this.#writeLarge(text);
      return this.flush().then(() => this.#append(text));
    }
    this.#append(text);
  }

  #append(text: string): void {
    this.#used += this.#encoder.encodeInto(text, this.#buffer.subarray(this.#used)).written;
  }

  async #writeLarge(text: string): Promise<void> {
    await this.flush();
    await this.#writeAll(this.#encoder.encode(text));
  }

  /** Writes whatever has gathered. */
  async flush(): Promise<void> {
    if (this.#used === 0) return;
    await this.#writeAll(this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    for (let written = 0; written < bytes.length;) {
      written += await this.writer.write(bytes.subarray(written));
    }
  }
}
