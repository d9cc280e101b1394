/**
 * Classic pcap: a 24-byte file header (microsecond or nanosecond
 * timestamps, either byte order), then 16-byte record headers each followed
 * by the captured bytes.
 *
 * @module
 */

import type { ChunkedSource } from "./chunks.ts";
import { type CaptureRecord, MAX_PACKET_BYTES, PcapError } from "./record.ts";

export const PCAP_MICRO = 0xa1b2c3d4;
export const PCAP_NANO = 0xa1b23c4d;

/** Reads the records of a classic pcap file, in batches of what is already buffered. */
export async function* readPcap(
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
