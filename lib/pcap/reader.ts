/**
 * Reading capture files record by record: classic pcap (microsecond and
 * nanosecond, either byte order) and pcapng (sections of either byte order,
 * several interfaces, `if_tsresol`, enhanced and simple packet blocks,
 * unknown blocks skipped by their length).
 *
 * The file is read in chunks, never whole, so a capture larger than memory
 * can be annotated. Every length read from the file is checked against an
 * explicit limit before it is trusted.
 *
 * @module
 */

/** One captured packet. */
export interface CaptureRecord {
  /** 1-based position in the file, as Wireshark numbers frames. */
  index: number;
  /** Byte offset of the record (or block) in the file. */
  offset: number;
  /** Link-layer type of the interface it was captured on (LINKTYPE_*). */
  linkType: number;
  /** Capture time in nanoseconds since the epoch. */
  timestampNs: bigint;
  /** The captured bytes (at most the snap length). */
  data: Uint8Array;
  /** The packet's length on the wire; more than data.length when cut by the snap length. */
  originalLength: number;
}

/**
 * A file that is not a capture, or breaks the format. The message is one
 * sentence; past the file header it names the record and the byte offset,
 * and every record before that one has been handed over already.
 */
export class PcapError extends SyntaxError {
  constructor(
    message: string,
    /** Byte offset of the defective record or block (0 for the file header). */
    readonly offset: number,
    /** The record that could not be read: one more than the records read. Undefined for the file header. */
    readonly record?: number,
  ) {
    super(message);
    this.name = "PcapError";
  }
}

/** Largest packet we accept; real snap lengths are at most 256 KiB. */
export const MAX_PACKET_BYTES = 256 * 1024;
/** Largest pcapng block we accept. */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;

const PCAP_MICRO = 0xa1b2c3d4;
const PCAP_NANO = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;

/**
 * A byte source read in chunks into one reused buffer, with just enough
 * lookahead for one record. `need(n)` makes sure n bytes are buffered
 * (false at a clean end of file). The buffer is compacted and grown in
 * place, so memory stays at about one chunk plus the largest record,
 * however large the file.
 */
class ChunkedSource {
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

/**
 * Reads every record of a capture. Records before a defect are yielded
 * first; then a {@linkcode PcapError} names the defect, the record and the
 * byte offset.
 *
 * @example
 * ```ts ignore
 * import { readCapture } from "./reader.ts";
 * using file = await Deno.open("handshake.pcap");
 * for await (const record of readCapture(file.readable)) console.log(record.index, record.data.length);
 * ```
 */
export async function* readCapture(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<CaptureRecord> {
  for await (const batch of readCaptureBatches(stream)) yield* batch;
}

/**
 * The same records in batches: every record that is already buffered comes
 * out in one array. For a million packets this is the fast way: one await
 * per batch, not one per packet.
 */
export async function* readCaptureBatches(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<CaptureRecord[]> {
  const source = new ChunkedSource(stream);
  try {
    if (!await source.need(4)) {
      throw new PcapError("Not a capture file: it is shorter than 4 bytes", 0);
    }
    const magicLE = source.peek(4).getUint32(0, true);
    const magicBE = source.peek(4).getUint32(0, false);
    if (magicLE === PCAPNG_SHB) {
      yield* readPcapng(source);
    } else if (
      [PCAP_MICRO, PCAP_NANO].includes(magicLE) ||
      [PCAP_MICRO, PCAP_NANO].includes(magicBE)
    ) {
      yield* readPcap(source);
    } else {
      throw new PcapError(
        `Not a pcap or pcapng file: it starts with 0x${magicBE.toString(16).padStart(8, "0")}`,
        0,
      );
    }
  } finally {
    await source.close();
  }
}

async function* readPcap(
  source: ChunkedSource,
): AsyncGenerator<CaptureRecord[]> {
  if (!await source.need(24)) {
    throw new PcapError(`Truncated pcap file header: 24 bytes expected, ${source.available} present`, 0);
  }
  const header = source.peek(24);
  const little = [PCAP_MICRO, PCAP_NANO].includes(header.getUint32(0, true));
  const nano = header.getUint32(0, little) === PCAP_NANO;
  const linkType = header.getUint32(20, little) & 0x0fffffff; // upper bits: FCS info
  source.skip(24);
  let batch: CaptureRecord[] = [];
  try {
    for (let index = 1;; index++) {
      const offset = source.offset;
      if (!source.has(16)) {
        if (batch.length > 0) yield batch;
        batch = [];
        if (!await source.need(16)) {
          if (source.available === 0) return;
          throw new PcapError(
            `Truncated header of record ${index} at offset ${offset}: 16 bytes expected, ${source.available} present`,
            offset,
            index,
          );
        }
      }
      const seconds = source.uint32(0, little);
      const fraction = source.uint32(4, little);
      const capturedLength = source.uint32(8, little);
      const originalLength = source.uint32(12, little);
      if (capturedLength > MAX_PACKET_BYTES) {
        throw new PcapError(
          `Record ${index} at offset ${offset} claims ${capturedLength} captured bytes (limit ${MAX_PACKET_BYTES})`,
          offset,
          index,
        );
      }
      if (!source.has(16 + capturedLength)) {
        if (batch.length > 0) yield batch;
        batch = [];
        if (!await source.need(16 + capturedLength)) {
          throw new PcapError(
            `Record ${index} at offset ${offset} is cut short: ${capturedLength} bytes announced, ${
              source.available - 16
            } present`,
            offset,
            index,
          );
        }
      }
      source.skip(16);
      const data = source.take(capturedLength);
      const timestampNs = BigInt(seconds) * 1_000_000_000n +
        BigInt(fraction) * (nano ? 1n : 1000n);
      batch.push({ index, offset, linkType, timestampNs, data, originalLength });
    }
  } catch (error) {
    // Whatever was read before the defect is handed over before the defect is reported.
    if (batch.length > 0) yield batch;
    throw error;
  }
}

interface Interface {
  linkType: number;
  snapLength: number;
  /** Nanoseconds per timestamp unit, as a fraction: units × numerator / denominator. */
  tsNumerator: bigint;
  tsDenominator: bigint;
}

async function* readPcapng(
  source: ChunkedSource,
): AsyncGenerator<CaptureRecord[]> {
  let little = true;
  let interfaces: Interface[] = [];
  let index = 0;
  let batch: CaptureRecord[] = [];
  // Hand over what is decoded before waiting for more bytes.
  const ready = function* () {
    if (batch.length > 0) yield batch;
    batch = [];
  };
  try {
    while (true) {
      const offset = source.offset;
      if (!source.has(12)) {
        yield* ready();
        if (!await source.need(12)) {
          if (source.available === 0) return;
          throw blockError(
            index + 1,
            offset,
            `the block header at offset ${offset} is cut short (12 bytes expected, ${source.available} present)`,
          );
        }
      }
      const type = source.peek(4).getUint32(0, little);
      if (type === PCAPNG_SHB) {
        // A new section: its byte-order magic decides how to read everything in it.
        const magic = source.peek(12).getUint32(8, true);
        if (magic === PCAPNG_BYTE_ORDER) little = true;
        else if (source.peek(12).getUint32(8, false) === PCAPNG_BYTE_ORDER) {
          little = false;
        } else {
          throw blockError(index + 1, offset, `the section header at offset ${offset} has no valid byte-order magic`);
        }
        interfaces = [];
      }
      const length = source.peek(8).getUint32(4, little);
      if (length < 12 || length % 4 !== 0 || length > MAX_BLOCK_BYTES) {
        throw blockError(index + 1, offset, `the block at offset ${offset} has an impossible length (${length})`);
      }
      if (!source.has(length)) yield* ready();
      if (!await source.need(length)) {
        throw blockError(
          index + 1,
          offset,
          `the block at offset ${offset} is cut short (${length} bytes announced, ${source.available} present)`,
        );
      }
      const block = source.take(length);
      const view = new DataView(block.buffer, block.byteOffset, block.length);
      const trailing = view.getUint32(length - 4, little);
      if (trailing !== length) {
        throw blockError(
          index + 1,
          offset,
          `the block at offset ${offset} ends with length ${trailing}, not ${length}`,
        );
      }
      if (type === 1) {
        if (length < 20) {
          throw blockError(index + 1, offset, `the interface block at offset ${offset} is too short (${length} bytes)`);
        }
        interfaces.push(parseInterface(view, little));
      } else if (type === 6 || type === 3) {
        index++;
        batch.push(packetBlock(type, view, block, little, interfaces, index, offset));
      }
      // Any other block (statistics, name resolution, custom…) is skipped by its length.
    }
  } catch (error) {
    // Whatever was read before the defect is handed over before the defect is reported.
    yield* ready();
    throw error;
  }
}

/** An interface description block, at least 20 bytes long (checked by the caller). */
function parseInterface(view: DataView, little: boolean): Interface {
  const iface: Interface = {
    linkType: view.getUint16(8, little),
    snapLength: view.getUint32(12, little),
    tsNumerator: 1000n, // default resolution: microseconds
    tsDenominator: 1n,
  };
  // Options: code (2), length (2), value padded to 4; end at code 0.
  for (let at = 16; at + 4 <= view.byteLength - 4;) {
    const code = view.getUint16(at, little);
    const length = view.getUint16(at + 2, little);
    if (code === 0) break;
    if (code === 9 && length >= 1) {
      const resolution = view.getUint8(at + 4);
      const exponent = BigInt(resolution & 0x7f);
      if (resolution & 0x80) {
        // 2^-n seconds per unit.
        iface.tsNumerator = 1_000_000_000n;
        iface.tsDenominator = 1n << exponent;
      } else {
        // 10^-n seconds per unit.
        iface.tsNumerator = exponent <= 9n ? 10n ** (9n - exponent) : 1n;
        iface.tsDenominator = exponent <= 9n ? 1n : 10n ** (exponent - 9n);
      }
    }
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return iface;
}

/** A defect in a pcapng block: the reading stops at the record it would have been, or came before. */
function blockError(record: number, offset: number, problem: string): PcapError {
  return new PcapError(`Cannot read record ${record}: ${problem}`, offset, record);
}

/** A defect inside a packet block (or a pcap record). */
function recordError(record: number, offset: number, problem: string): PcapError {
  return new PcapError(`Record ${record} at offset ${offset} ${problem}`, offset, record);
}

function packetBlock(
  type: number,
  view: DataView,
  block: Uint8Array,
  little: boolean,
  interfaces: Interface[],
  index: number,
  offset: number,
): CaptureRecord {
  if (type === 3) {
    // Simple packet block: interface 0, no timestamp, length cut to the snap length.
    if (block.length < 16) {
      throw recordError(
        index,
        offset,
        `is too short for a simple packet block (${block.length} bytes, at least 16 needed)`,
      );
    }
    const iface = interfaces[0];
    if (!iface) throw recordError(index, offset, "comes before any interface block");
    const originalLength = view.getUint32(8, little);
    const captured = Math.min(
      originalLength,
      iface.snapLength || originalLength,
      block.length - 16,
    );
    return {
      index,
      offset,
      linkType: iface.linkType,
      timestampNs: 0n,
      data: block.slice(12, 12 + captured),
      originalLength,
    };
  }
  if (block.length < 32) {
    throw recordError(
      index,
      offset,
      `is too short for an enhanced packet block (${block.length} bytes, at least 32 needed)`,
    );
  }
  const interfaceId = view.getUint32(8, little);
  const iface = interfaces[interfaceId];
  if (!iface) throw recordError(index, offset, `names interface ${interfaceId}, which is not defined`);
  const units = (BigInt(view.getUint32(12, little)) << 32n) |
    BigInt(view.getUint32(16, little));
  const captured = view.getUint32(20, little);
  const originalLength = view.getUint32(24, little);
  if (captured > MAX_PACKET_BYTES) {
    throw recordError(index, offset, `claims ${captured} captured bytes (limit ${MAX_PACKET_BYTES})`);
  }
  if (28 + captured > block.length - 4) {
    throw recordError(index, offset, `claims ${captured} captured bytes in a ${block.length}-byte block`);
  }
  return {
    index,
    offset,
    linkType: iface.linkType,
    timestampNs: units * iface.tsNumerator / iface.tsDenominator,
    data: block.slice(28, 28 + captured),
    originalLength,
  };
}
