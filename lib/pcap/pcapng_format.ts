/**
 * pcapng: sections of either byte order, several interfaces, `if_tsresol`,
 * enhanced and simple packet blocks; unknown blocks skipped by their length.
 *
 * @module
 */

import type { ChunkedSource } from "./chunks.ts";
import { type CaptureRecord, MAX_BLOCK_BYTES, MAX_PACKET_BYTES, PcapError } from "./record.ts";

export const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;

interface Interface {
  linkType: number;
  snapLength: number;
  /** Nanoseconds per timestamp unit, as a fraction: units × numerator / denominator. */
  tsNumerator: bigint;
  tsDenominator: bigint;
}

/** Reads the records of a pcapng file, in batches of what is already buffered. */
export async function* readPcapng(
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
