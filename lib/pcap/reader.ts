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
 * The formats live in their own modules (pcap_format.ts, pcapng_format.ts),
 * over the chunk buffer of chunks.ts; this one looks at the magic number
 * and hands over to one of them. {@linkcode CaptureScanner} is the fast
 * way, one reused record and no object per packet (`deno task pcap` on a
 * million packets); {@linkcode readCapture} hands over records to keep.
 *
 * @module
 */

import { type ByteSource, ChunkBuffer, streamSource } from "./chunks.ts";
import { PCAP_HEADER_BYTES, PCAP_MICRO, PCAP_NANO, PcapParser } from "./pcap_format.ts";
import { PCAPNG_SHB, PcapngParser } from "./pcapng_format.ts";
import { type CaptureRecord, PcapError, RecordView } from "./record.ts";

export { type CaptureRecord, MAX_BLOCK_BYTES, MAX_PACKET_BYTES, PcapError, RecordView } from "./record.ts";

/**
 * Reads a capture record by record into one reused {@linkcode RecordView}:
 * `next()` reads a record that is already buffered (synchronously, no
 * object made), `fill()` reads on from the source when none is. Records
 * before a defect come out first; then a {@linkcode PcapError} names the
 * defect, the record and the byte offset.
 *
 * @example
 * ```ts ignore
 * import { fileSource } from "./chunks.ts";
 * import { CaptureScanner } from "./reader.ts";
 * using file = await Deno.open("handshake.pcap");
 * const scanner = await CaptureScanner.open(fileSource(file));
 * try {
 *   while (await scanner.fill()) {
 *     while (scanner.next()) console.log(scanner.record.index, scanner.record.length);
 *   }
 * } finally {
 *   await scanner.close();
 * }
 * ```
 */
export class CaptureScanner {
  /** The record `next()` read last; valid until the next `fill()`. */
  readonly record = new RecordView();
  #chunks: ChunkBuffer;
  #parser: PcapParser | PcapngParser;

  private constructor(chunks: ChunkBuffer, parser: PcapParser | PcapngParser) {
    this.#chunks = chunks;
    this.#parser = parser;
  }

  /**
   * Reads the file header and picks the format. `bufferSize`: the read
   * buffer's size (reads are this large; it grows only for a larger
   * record). Throws PcapError for a file that is no capture, having closed
   * the source.
   */
  static async open(source: ByteSource, bufferSize = 16 * 1024): Promise<CaptureScanner> {
    const chunks = new ChunkBuffer(source, bufferSize);
    try {
      return new CaptureScanner(chunks, await openFormat(chunks));
    } catch (error) {
      await chunks.close();
      throw error;
    }
  }

  /** Reads the next record if it is buffered: false when fill() must read on first. */
  next(): boolean {
    return this.#parser.next(this.#chunks, this.record) === "record";
  }

  /** Reads on until the next record is buffered: false at the end of the capture; throws a defect at its end. */
  async fill(): Promise<boolean> {
    if (await this.#chunks.fill(this.#parser.needed)) return true;
    this.#parser.atEnd(this.#chunks);
    return false;
  }

  async close(): Promise<void> {
    await this.#chunks.close();
  }
}

/** The parser for the capture's format, from its magic number (and the pcap file header). */
async function openFormat(chunks: ChunkBuffer): Promise<PcapParser | PcapngParser> {
  if (!await chunks.fill(4)) {
    throw new PcapError("Not a capture file: it is shorter than 4 bytes", 0);
  }
  const magicLE = chunks.uint32(0, true);
  const magicBE = chunks.uint32(0, false);
  if (magicLE === PCAPNG_SHB) return new PcapngParser();
  if ([PCAP_MICRO, PCAP_NANO].includes(magicLE) || [PCAP_MICRO, PCAP_NANO].includes(magicBE)) {
    if (!await chunks.fill(PCAP_HEADER_BYTES)) {
      throw new PcapError(`Truncated pcap file header: 24 bytes expected, ${chunks.available} present`, 0);
    }
    return new PcapParser(chunks);
  }
  throw new PcapError(`Not a pcap or pcapng file: it starts with 0x${magicBE.toString(16).padStart(8, "0")}`, 0);
}

/**
 * Reads every record of a capture, each a copy safe to keep. Records
 * before a defect are yielded first; then a {@linkcode PcapError} names
 * the defect, the record and the byte offset.
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
 * out in one array, one await per batch, not one per packet.
 */
export function readCaptureBatches(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<CaptureRecord[]> {
  return readBatches(streamSource(stream));
}

/**
 * {@linkcode readCaptureBatches} from any byte source (an open file: no stream in between).
 *
 * @example
 * ```ts ignore
 * import { fileSource } from "./chunks.ts";
 * import { readBatches } from "./reader.ts";
 * using file = await Deno.open("handshake.pcap");
 * for await (const batch of readBatches(fileSource(file))) console.log(batch.length, "records");
 * ```
 */
export async function* readBatches(source: ByteSource): AsyncGenerator<CaptureRecord[]> {
  const scanner = await CaptureScanner.open(source);
  let batch: CaptureRecord[] = [];
  try {
    while (await scanner.fill()) {
      while (scanner.next()) batch.push(scanner.record.toRecord());
      if (batch.length > 0) yield batch;
      batch = [];
    }
  } catch (error) {
    // Whatever was read before the defect is handed over before the defect is reported.
    if (batch.length > 0) yield batch;
    throw error;
  } finally {
    await scanner.close();
  }
}
