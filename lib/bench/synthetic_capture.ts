/**
 * A large capture for the pcap benchmark, written directly: many short TCP
 * conversations (handshake, data both ways, close) over Ethernet/IPv4, in
 * classic little-endian pcap, streamed to disk.
 *
 * @module
 */

const ETHERNET = 1;

/** Options for {@linkcode writeSyntheticCapture}. */
export interface SyntheticOptions {
  /** At least this many packets are written. */
  packets: number;
  /** Data segments per direction in each conversation. @default {20} */
  segmentsPerSide?: number;
  /** Payload bytes per data segment. @default {100} */
  payload?: number;
}

/** Writes the capture to `path`; returns how many packets it holds. */
export async function writeSyntheticCapture(
  path: string,
  options: SyntheticOptions,
): Promise<number> {
  using file = await Deno.open(path, {
    write: true,
    create: true,
    truncate: true,
  });
  const output = new BufferedFile(file);
  const header = new DataView(new ArrayBuffer(24));
  header.setUint32(0, 0xa1b2c3d4, true);
  header.setUint16(4, 2, true);
  header.setUint16(6, 4, true);
  header.setUint32(16, 262144, true);
  header.setUint32(20, ETHERNET, true);
  output.push(new Uint8Array(header.buffer));
  const clock = { micros: 0 };
  let count = 0;
  for (let conversation = 0; count < options.packets; conversation++) {
    count += writeConversation(output, conversation, clock, options);
    if (output.buffered > 1 << 20) await output.flush();
  }
  await output.flush();
  return count;
}

/** Pieces gathered in memory and written to the file a megabyte at a time. */
class BufferedFile {
  #chunks: Uint8Array[] = [];
  buffered = 0;

  constructor(readonly file: Deno.FsFile) {}

  push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.buffered += bytes.length;
  }

  async flush(): Promise<void> {
    const all = new Uint8Array(this.buffered);
    let at = 0;
    for (const chunk of this.#chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    for (let written = 0; written < all.length;) {
      written += await this.file.write(all.subarray(written));
    }
    this.#chunks.length = 0;
    this.buffered = 0;
  }
}

/** One whole conversation: handshake, data both ways, close. Returns how many packets it wrote. */
function writeConversation(
  output: BufferedFile,
  conversation: number,
  clock: { micros: number },
  options: SyntheticOptions,
): number {
  const segments = options.segmentsPerSide ?? 20;
  const payload = options.payload ?? 100;
  const clientPort = 10_000 + (conversation % 50_000);
  let clientSeq = (conversation * 2654435761) >>> 0;
  let serverSeq = (conversation * 40503 + 12345) >>> 0;
  let count = 0;
  const packet = (fromClient: boolean, flags: number, length: number) => {
    const frame = tcpFrame(
      fromClient ? clientPort : 80,
      fromClient ? 80 : clientPort,
      fromClient,
      fromClient ? clientSeq : serverSeq,
      fromClient ? serverSeq : clientSeq,
      flags,
      length,
    );
    const record = new DataView(new ArrayBuffer(16));
    clock.micros += 7;
    record.setUint32(0, 1_800_000_000 + Math.floor(clock.micros / 1e6), true);
    record.setUint32(4, clock.micros % 1e6, true);
    record.setUint32(8, frame.length, true);
    record.setUint32(12, frame.length, true);
    output.push(new Uint8Array(record.buffer));
    output.push(frame);
    const advance = length + (flags & (SYN | FIN) ? 1 : 0);
    if (fromClient) clientSeq = (clientSeq + advance) >>> 0;
    else serverSeq = (serverSeq + advance) >>> 0;
    count++;
  };
  packet(true, SYN, 0);
  packet(false, SYN | ACK, 0);
  packet(true, ACK, 0);
  for (let i = 0; i < segments; i++) {
    packet(true, PSH | ACK, payload);
    packet(false, PSH | ACK, payload);
  }
  packet(true, FIN | ACK, 0);
  packet(false, FIN | ACK, 0);
  packet(true, ACK, 0);
  return count;
}

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

function tcpFrame(
  srcPort: number,
  dstPort: number,
  fromClient: boolean,
  seq: number,
  ack: number,
  flags: number,
  length: number,
): Uint8Array {
  const frame = new Uint8Array(14 + 20 + 20 + length);
  const view = new DataView(frame.buffer);
  view.setUint16(12, 0x0800); // IPv4
  view.setUint8(14, 0x45);
  view.setUint16(16, 40 + length);
  view.setUint8(22, 64);
  view.setUint8(23, 6); // TCP
  view.setUint32(26, fromClient ? 0xc6120001 : 0xc6120002); // 198.18.0.1 / 198.18.0.2
  view.setUint32(30, fromClient ? 0xc6120002 : 0xc6120001);
  view.setUint16(34, srcPort);
  view.setUint16(36, dstPort);
  view.setUint32(38, seq);
  view.setUint32(42, flags & ACK ? ack : 0);
  view.setUint8(46, 5 << 4);
  view.setUint8(47, flags);
  view.setUint16(48, 65535);
  return frame;
}
