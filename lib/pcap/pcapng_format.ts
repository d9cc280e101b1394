/**
 * pcapng: sections of either byte order, several interfaces, `if_tsresol`,
 * enhanced and simple packet blocks; unknown blocks skipped by their length.
 *
 * @module
 */

import type { ChunkBuffer } from "./chunks.ts";
import { MAX_BLOCK_BYTES, MAX_PACKET_BYTES, PcapError, type RecordView } from "./record.ts";

/** Block type of a section header block, the first block of a pcapng file: the same in either byte order. */
export const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
const BLOCK_HEADER_BYTES = 12;
const INTERFACE_BLOCK = 1;
const SIMPLE_PACKET_BLOCK = 3;
const ENHANCED_PACKET_BLOCK = 6;

interface Interface {
  linkType: number;
  snapLength: number;
  /** Nanoseconds per timestamp unit, as a fraction: units × numerator / denominator. */
  tsNumerator: bigint;
  tsDenominator: bigint;
  /**
   * Units per second when the resolution is 10^-p s with p ≤ 9 (the usual
   * µs and ns): the time is then split into seconds and nanoseconds with
   * plain numbers. 0 for any other resolution, read with bigint.
   */
  unitsPerSecond: number;
}

/**
 * Reads a pcapng file record by record, synchronously, from what the chunk
 * buffer holds: {@linkcode next} says "more" (with {@linkcode needed}) when
 * the next block is not all there yet.
 */
export class PcapngParser {
  /** How many bytes the next block needs buffered, after next() said "more". */
  needed = BLOCK_HEADER_BYTES;
  #little = true;
  #interfaces: Interface[] = [];
  #index = 0;

  /** Reads blocks up to the next packet and puts it into `record`, or says that more bytes must be buffered first. */
  next(chunks: ChunkBuffer, record: RecordView): "record" | "more" {
    while (true) {
      const offset = chunks.offset;
      if (!chunks.has(BLOCK_HEADER_BYTES)) {
        this.needed = BLOCK_HEADER_BYTES;
        return "more";
      }
      let little = this.#little;
      const type = chunks.uint32(0, little);
      if (type === PCAPNG_SHB) {
        // A new section: its byte-order magic decides how to read everything in it.
        if (chunks.uint32(8, true) === PCAPNG_BYTE_ORDER) little = true;
        else if (chunks.uint32(8, false) === PCAPNG_BYTE_ORDER) little = false;
        else throw this.#blockError(offset, `the section header at offset ${offset} has no valid byte-order magic`);
      }
      const length = chunks.uint32(4, little);
      if (length < 12 || length % 4 !== 0 || length > MAX_BLOCK_BYTES) {
        throw this.#blockError(offset, `the block at offset ${offset} has an impossible length (${length})`);
      }
      if (!chunks.has(length)) {
        this.needed = length;
        return "more";
      }
      const trailing = chunks.uint32(length - 4, little);
      if (trailing !== length) {
        throw this.#blockError(offset, `the block at offset ${offset} ends with length ${trailing}, not ${length}`);
      }
      if (type === PCAPNG_SHB) {
        this.#little = little;
        this.#interfaces = [];
      } else if (type === INTERFACE_BLOCK) {
        if (length < 20) {
          throw this.#blockError(offset, `the interface block at offset ${offset} is too short (${length} bytes)`);
        }
        this.#interfaces.push(parseInterface(chunks, length, little));
      } else if (type === ENHANCED_PACKET_BLOCK || type === SIMPLE_PACKET_BLOCK) {
        const index = ++this.#index;
        if (type === ENHANCED_PACKET_BLOCK) this.#enhancedPacket(chunks, length, index, record);
        else this.#simplePacket(chunks, length, index, record);
        chunks.skip(length);
        return "record";
      }
      // Any other block (statistics, name resolution, custom…) is skipped by its length.
      chunks.skip(length);
    }
  }

  /** The file ended with fewer than `needed` bytes left: a clean end, or a block cut short (thrown). */
  atEnd(chunks: ChunkBuffer): void {
    const [offset, present] = [chunks.offset, chunks.available];
    if (this.needed === BLOCK_HEADER_BYTES) {
      if (present === 0) return;
      throw this.#blockError(
        offset,
        `the block header at offset ${offset} is cut short (12 bytes expected, ${present} present)`,
      );
    }
    throw this.#blockError(
      offset,
      `the block at offset ${offset} is cut short (${this.needed} bytes announced, ${present} present)`,
    );
  }

  /** A defect in a block: the reading stops at the record it would have been, or came before. */
  #blockError(offset: number, problem: string): PcapError {
    const record = this.#index + 1;
    return new PcapError(`Cannot read record ${record}: ${problem}`, offset, record);
  }

  #simplePacket(chunks: ChunkBuffer, length: number, index: number, record: RecordView): void {
    const offset = chunks.offset;
    // Interface 0, no timestamp, length cut to the snap length.
    if (length < 16) {
      throw recordError(index, offset, `is too short for a simple packet block (${length} bytes, at least 16 needed)`);
    }
    const iface = this.#interfaces[0];
    if (!iface) throw recordError(index, offset, "comes before any interface block");
    const originalLength = chunks.uint32(8, this.#little);
    const captured = Math.min(originalLength, iface.snapLength || originalLength, length - 16);
    if (captured > MAX_PACKET_BYTES) {
      throw recordError(index, offset, `claims ${captured} captured bytes (limit ${MAX_PACKET_BYTES})`);
    }
    setRecord(record, chunks, index, iface.linkType, 12, captured, originalLength);
    record.seconds = 0;
    record.nanos = 0;
    record.wide = undefined;
  }

  #enhancedPacket(chunks: ChunkBuffer, length: number, index: number, record: RecordView): void {
    const offset = chunks.offset;
    const little = this.#little;
    if (length < 32) {
      throw recordError(
        index,
        offset,
        `is too short for an enhanced packet block (${length} bytes, at least 32 needed)`,
      );
    }
    const interfaceId = chunks.uint32(8, little);
    const iface = this.#interfaces[interfaceId];
    if (!iface) throw recordError(index, offset, `names interface ${interfaceId}, which is not defined`);
    const captured = chunks.uint32(20, little);
    if (captured > MAX_PACKET_BYTES) {
      throw recordError(index, offset, `claims ${captured} captured bytes (limit ${MAX_PACKET_BYTES})`);
    }
    if (28 + captured > length - 4) {
      throw recordError(index, offset, `claims ${captured} captured bytes in a ${length}-byte block`);
    }
    setRecord(record, chunks, index, iface.linkType, 28, captured, chunks.uint32(24, little));
    setTimestamp(record, chunks.uint32(12, little), chunks.uint32(16, little), iface);
  }
}

function setRecord(
  record: RecordView,
  chunks: ChunkBuffer,
  index: number,
  linkType: number,
  dataAt: number,
  captured: number,
  originalLength: number,
): void {
  record.index = index;
  record.offset = chunks.offset;
  record.linkType = linkType;
  record.bytes = chunks.bytes;
  record.start = chunks.start + dataAt;
  record.length = captured;
  record.originalLength = originalLength;
}

/** A defect inside a packet block. */
function recordError(record: number, offset: number, problem: string): PcapError {
  return new PcapError(`Record ${record} at offset ${offset} ${problem}`, offset, record);
}

/** An interface description block, at least 20 bytes long (checked by the caller). */
function parseInterface(chunks: ChunkBuffer, length: number, little: boolean): Interface {
  const iface: Interface = {
    linkType: chunks.uint16(8, little),
    snapLength: chunks.uint32(12, little),
    tsNumerator: 1000n, // default resolution: microseconds
    tsDenominator: 1n,
    unitsPerSecond: 1_000_000,
  };
  // Options: code (2), length (2), value padded to 4; end at code 0.
  for (let at = 16; at + 4 <= length - 4;) {
    const code = chunks.uint16(at, little);
    const optionLength = chunks.uint16(at + 2, little);
    if (code === 0) break;
    if (code === 9 && optionLength >= 1) {
      const resolution = chunks.bytes[chunks.start + at + 4];
      const exponent = resolution & 0x7f;
      const big = BigInt(exponent);
      iface.unitsPerSecond = 0;
      if (resolution & 0x80) {
        // 2^-n seconds per unit.
        iface.tsNumerator = 1_000_000_000n;
        iface.tsDenominator = 1n << big;
      } else {
        // 10^-n seconds per unit.
        iface.tsNumerator = big <= 9n ? 10n ** (9n - big) : 1n;
        iface.tsDenominator = big <= 9n ? 1n : 10n ** (big - 9n);
        if (exponent <= 9) iface.unitsPerSecond = 10 ** exponent;
      }
    }
    at += 4 + Math.ceil(optionLength / 4) * 4;
  }
  return iface;
}

/**
 * The time of `high`·2^32 + `low` units of `iface`'s resolution. For a
 * decimal resolution it is split into seconds and nanoseconds by long
 * division in 16-bit digits, each step exact in a double; otherwise, or
 * when the seconds pass 2^53, it is kept as a bigint.
 */
function setTimestamp(record: RecordView, high: number, low: number, iface: Interface): void {
  const divisor = iface.unitsPerSecond;
  if (divisor !== 0) {
    let quotient = 0;
    let remainder = 0;
    for (let i = 0; i < 4; i++) {
      const digit = i === 0 ? high >>> 16 : i === 1 ? high & 0xffff : i === 2 ? low >>> 16 : low & 0xffff;
      // remainder < divisor ≤ 1e9, so current < 2^46: exact, and so is the floor of its quotient.
      const current = remainder * 65536 + digit;
      const step = Math.floor(current / divisor);
      remainder = current - step * divisor;
      quotient = quotient * 65536 + step;
    }
    if (quotient <= Number.MAX_SAFE_INTEGER) {
      record.seconds = quotient;
      record.nanos = remainder * (1_000_000_000 / divisor);
      record.wide = undefined;
      return;
    }
  }
  const units = (BigInt(high) << 32n) | BigInt(low);
  record.seconds = 0;
  record.nanos = 0;
  record.wide = units * iface.tsNumerator / iface.tsDenominator;
}
