/**
 * Classic pcap: a 24-byte file header (microsecond or nanosecond
 * timestamps, either byte order), then 16-byte record headers each followed
 * by the captured bytes.
 *
 * @module
 */

import type { ChunkBuffer } from "./chunks.ts";
import { MAX_PACKET_BYTES, PcapError, type RecordView } from "./record.ts";

/** Magic number of a pcap file with microsecond timestamps. */
export const PCAP_MICRO = 0xa1b2c3d4;
/** Magic number of a pcap file with nanosecond timestamps. */
export const PCAP_NANO = 0xa1b23c4d;

/** Bytes of the file header, and of each record's header. */
export const PCAP_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

/**
 * Reads a classic pcap file record by record, synchronously, from what the
 * chunk buffer holds: {@linkcode next} says "more" (with {@linkcode needed})
 * when the next record is not all there yet.
 */
export class PcapParser {
  /** How many bytes the next record needs buffered, after next() said "more". */
  needed = RECORD_HEADER_BYTES;
  #little: boolean;
  /** Nanoseconds per unit of the timestamp's fraction. */
  #nanosPerUnit: number;
  #linkType: number;
  #index = 0;

  /** Reads the file header (its 24 bytes buffered). */
  constructor(chunks: ChunkBuffer) {
    this.#little = [PCAP_MICRO, PCAP_NANO].includes(chunks.uint32(0, true));
    this.#nanosPerUnit = chunks.uint32(0, this.#little) === PCAP_NANO ? 1 : 1000;
    this.#linkType = chunks.uint32(20, this.#little) & 0x0fffffff; // upper bits: FCS info
    chunks.skip(PCAP_HEADER_BYTES);
  }

  /** Reads the next record into `record`, or says that more bytes must be buffered first. */
  next(chunks: ChunkBuffer, record: RecordView): "record" | "more" {
    if (!chunks.has(RECORD_HEADER_BYTES)) {
      this.needed = RECORD_HEADER_BYTES;
      return "more";
    }
    const little = this.#little;
    const captured = chunks.uint32(8, little);
    if (captured > MAX_PACKET_BYTES) {
      const [index, offset] = [this.#index + 1, chunks.offset];
      throw new PcapError(
        `Record ${index} at offset ${offset} claims ${captured} captured bytes (limit ${MAX_PACKET_BYTES})`,
        offset,
        index,
      );
    }
    if (!chunks.has(RECORD_HEADER_BYTES + captured)) {
      this.needed = RECORD_HEADER_BYTES + captured;
      return "more";
    }
    record.index = ++this.#index;
    record.offset = chunks.offset;
    record.linkType = this.#linkType;
    record.seconds = chunks.uint32(0, little);
    record.nanos = chunks.uint32(4, little) * this.#nanosPerUnit;
    record.wide = undefined;
    record.originalLength = chunks.uint32(12, little);
    record.bytes = chunks.bytes;
    record.start = chunks.start + RECORD_HEADER_BYTES;
    record.length = captured;
    chunks.skip(RECORD_HEADER_BYTES + captured);
    return "record";
  }

  /** The file ended with fewer than `needed` bytes left: a clean end, or a record cut short (thrown). */
  atEnd(chunks: ChunkBuffer): void {
    const [index, offset, present] = [this.#index + 1, chunks.offset, chunks.available];
    if (this.needed === RECORD_HEADER_BYTES) {
      if (present === 0) return;
      throw new PcapError(
        `Truncated header of record ${index} at offset ${offset}: 16 bytes expected, ${present} present`,
        offset,
        index,
      );
    }
    throw new PcapError(
      `Record ${index} at offset ${offset} is cut short: ${this.needed - RECORD_HEADER_BYTES} bytes announced, ${
        present - RECORD_HEADER_BYTES
      } present`,
      offset,
      index,
    );
  }
}
