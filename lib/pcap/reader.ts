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
 * and hands over to one of them.
 *
 * @module
 */

import { ChunkedSource } from "./chunks.ts";
import { PCAP_MICRO, PCAP_NANO, readPcap } from "./pcap_format.ts";
import { PCAPNG_SHB, readPcapng } from "./pcapng_format.ts";
import { type CaptureRecord, PcapError } from "./record.ts";

export { type CaptureRecord, MAX_BLOCK_BYTES, MAX_PACKET_BYTES, PcapError } from "./record.ts";

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
