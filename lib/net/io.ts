/**
 * Whole-buffer reads and writes over a Deno connection, with the two facts
 * Deno's socket docs warn about made explicit: a read may return fewer bytes
 * than asked for, and a write may write fewer bytes than it was given.
 *
 * @module
 */

/** Anything bytes can be read from: a connection, a file. */
export interface ByteReader {
  read(into: Uint8Array): Promise<number | null>;
}

/** Anything bytes can be written to; `write` may write only some of them. */
export interface ByteWriter {
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * Writes every byte of `bytes`, looping on partial writes.
 *
 * @example Bad: a single write may send only part of the buffer
 * ```ts ignore
 * await conn.write(bytes); // the return value says how much was written
 * ```
 * @example Good: loop until everything is written
 * ```ts ignore
 * import { writeAll } from "./io.ts";
 * await writeAll(conn, bytes);
 * ```
 */
export async function writeAll(
  writer: ByteWriter,
  bytes: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await writer.write(bytes.subarray(offset));
  }
}

/**
 * Reads until `into` is full or the peer closes; returns how many bytes
 * arrived (fewer than `into.length` only if the peer closed first).
 */
export async function readFull(
  reader: ByteReader,
  into: Uint8Array,
): Promise<number> {
  let filled = 0;
  while (filled < into.length) {
    const n = await reader.read(into.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

/**
 * Reads until the peer closes or `limit` bytes have arrived, and returns
 * everything read. `limit` guards against a peer that never stops sending.
 */
export async function readToEnd(
  reader: ByteReader,
  limit: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buffer = new Uint8Array(64 * 1024);
  while (total < limit) {
    const n = await reader.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    total += n;
  }
  const all = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}
