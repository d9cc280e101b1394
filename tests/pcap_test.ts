/**
 * lib/pcap against real captures (tests/fixtures/pcap, see its README):
 * every format and link type, compared with tshark's own decoding, and the
 * defects a capture file can have.
 */

import assert from "node:assert/strict";
import { type AnnotatedPacket, Annotator, missingSteps, toAnnotatedPacket } from "../lib/pcap/annotate.ts";
import { streamSource } from "../lib/pcap/chunks.ts";
import { ConversationTable } from "../lib/pcap/conversations.ts";
import { decodeProblem, flagBits, LinkType, PacketFields } from "../lib/pcap/decode.ts";
import { annotateFile } from "../lib/pcap/file.ts";
import { writePacketJson, writePacketLine } from "../lib/pcap/packet_lines.ts";
import { type CaptureRecord, CaptureScanner, MAX_PACKET_BYTES, PcapError, readCapture } from "../lib/pcap/reader.ts";
import { formatPacketLine } from "../lib/pcap/table.ts";
import { BufferedByteWriter } from "../lib/report/buffered_writer.ts";
import { pcapFuzzCase } from "../lib/fuzz/pcap_cases.ts";
import { SeededRandom } from "../lib/fuzz/seeded_random.ts";
import { requires } from "./_support.ts";
import bigEndianPcap from "./fixtures/pcap/handshake-big-endian.pcap" with {
  type: "bytes",
};
import bigEndianPcapng from "./fixtures/pcap/handshake-big-endian.pcapng" with {
  type: "bytes",
};
import ethernet from "./fixtures/pcap/handshake-ethernet.pcap" with {
  type: "bytes",
};
import ipv6 from "./fixtures/pcap/handshake-ipv6.pcap" with { type: "bytes" };
import loop from "./fixtures/pcap/handshake-loop.pcap" with { type: "bytes" };
import nanosecond from "./fixtures/pcap/handshake-nanosecond.pcap" with {
  type: "bytes",
};
import nullLoopback from "./fixtures/pcap/handshake-null.pcap" with {
  type: "bytes",
};
import raw from "./fixtures/pcap/handshake-raw.pcap" with { type: "bytes" };
import sll from "./fixtures/pcap/handshake-sll.pcap" with { type: "bytes" };
import sll2 from "./fixtures/pcap/handshake-sll2.pcap" with { type: "bytes" };
import twoInterfaces from "./fixtures/pcap/handshake-two-interfaces.pcapng" with {
  type: "bytes",
};
import twoSections from "./fixtures/pcap/handshake-two-sections.pcapng" with {
  type: "bytes",
};
import pcapng from "./fixtures/pcap/handshake.pcapng" with { type: "bytes" };
import tshark from "./fixtures/pcap/tshark-decoding.json" with { type: "json" };

const FIXTURES: Record<string, { bytes: Uint8Array; linkTypes: number[] }> = {
  "handshake-ethernet.pcap": {
    bytes: ethernet,
    linkTypes: [LinkType.ETHERNET],
  },
  "handshake-nanosecond.pcap": {
    bytes: nanosecond,
    linkTypes: [LinkType.ETHERNET],
  },
  "handshake-ipv6.pcap": { bytes: ipv6, linkTypes: [LinkType.ETHERNET] },
  "handshake-sll.pcap": { bytes: sll, linkTypes: [LinkType.LINUX_SLL] },
  "handshake-sll2.pcap": { bytes: sll2, linkTypes: [LinkType.LINUX_SLL2] },
  "handshake.pcapng": { bytes: pcapng, linkTypes: [LinkType.ETHERNET] },
  "handshake-two-interfaces.pcapng": {
    bytes: twoInterfaces,
    linkTypes: [LinkType.ETHERNET, LinkType.LINUX_SLL],
  },
  "handshake-null.pcap": { bytes: nullLoopback, linkTypes: [LinkType.NULL] },
  "handshake-loop.pcap": { bytes: loop, linkTypes: [LinkType.LOOP] },
  "handshake-raw.pcap": { bytes: raw, linkTypes: [LinkType.RAW] },
  "handshake-big-endian.pcap": {
    bytes: bigEndianPcap,
    linkTypes: [LinkType.ETHERNET],
  },
  "handshake-big-endian.pcapng": {
    bytes: bigEndianPcapng,
    linkTypes: [LinkType.ETHERNET],
  },
  "handshake-two-sections.pcapng": {
    bytes: twoSections,
    linkTypes: [LinkType.ETHERNET],
  },
};

/** Streams `bytes` in small pieces, so records straddle chunk boundaries. */
function streamOf(bytes: Uint8Array, chunk = 7): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at += chunk));
    },
  });
}

async function records(
  bytes: Uint8Array,
  chunk?: number,
): Promise<CaptureRecord[]> {
  return await Array.fromAsync(readCapture(streamOf(bytes, chunk)));
}

for (const [name, { bytes, linkTypes }] of Object.entries(FIXTURES)) {
  Deno.test(`readCapture() and Annotator agree with tshark on ${name}`, async () => {
    const expected = (tshark as Record<
      string,
      {
        frame: number;
        flags: number;
        seq: number;
        ack: number;
        length: number;
        seqRaw: number;
        ackRaw: number;
        srcPort: number;
        dstPort: number;
      }[]
    >)[name];
    const all = await records(bytes);
    assert.equal(all.length, expected.length);
    assert.deepEqual(
      [...new Set(all.map((r) => r.linkType))].sort(),
      [...linkTypes].sort(),
    );
    const annotator = new Annotator();
    for (const [i, record] of all.entries()) {
      const packet = annotator.annotate(record);
      const want = expected[i];
      const flags = flagBits(packet.flags);
      assert.deepEqual(
        {
          frame: packet.number,
          flags,
          seq: packet.relativeSeq,
          ack: packet.relativeAck,
          length: packet.length,
          seqRaw: packet.seq,
          ackRaw: packet.ack,
        },
        {
          frame: want.frame,
          flags: want.flags,
          seq: want.seq,
          ack: want.ack,
          length: want.length,
          seqRaw: want.seqRaw,
          ackRaw: want.ackRaw,
        },
        `frame ${i + 1}`,
      );
    }
  });
}

Deno.test("readCapture() reads the same records whatever the chunk size", async () => {
  const whole = await records(pcapng, pcapng.length);
  for (const chunk of [1, 3, 64]) {
    assert.deepEqual(await records(pcapng, chunk), whole);
  }
});

Deno.test("readCapture() converts pcap µs, pcap ns and pcapng if_tsresol timestamps to nanoseconds", async () => {
  const [micro] = await records(ethernet);
  const [nano] = await records(nanosecond);
  const [ng] = await records(pcapng);
  assert.equal(micro.timestampNs % 1000n, 0n);
  assert.ok(nano.timestampNs > 1_700_000_000_000_000_000n);
  assert.ok(
    ng.timestampNs > 1_700_000_000_000_000_000n &&
      ng.timestampNs < 2_000_000_000_000_000_000n,
  );
});

Deno.test("Annotator labels every packet of a whole conversation and finds nothing missing", async () => {
  const annotator = new Annotator();
  const packets = (await records(ethernet)).map((r) => annotator.annotate(r));
  assert.deepEqual(packets.map((p) => p.label), [
    "SYN",
    "SYN-ACK",
    "ACK",
    "DATA",
    "ACK",
    "FIN",
    "FIN",
    "ACK",
  ]);
  assert.deepEqual(packets.map((p) => p.direction), [
    "→",
    "←",
    "→",
    "→",
    "←",
    "→",
    "←",
    "→",
  ]);
  assert.match(
    packets[0].options,
    /MSS 65495, WS ×1024, SACK-permitted, TS \d+\/0/,
  );
  assert.match(packets[2].meaning, /handshake is complete/);
  assert.match(packets[6].meaning, /acknowledges the client's FIN/);
  assert.match(packets[7].meaning, /^Last ACK/);
  assert.deepEqual(missingSteps(packets), []);
  assert.deepEqual(missingSteps(packets.slice(0, 5)), [
    "FIN from one side",
    "ACK of that FIN",
    "FIN from the other side",
    "last ACK",
  ]);
});

Deno.test("readCapture() rejects a file that is not a capture, naming its first bytes", async () => {
  await assert.rejects(
    records(new TextEncoder().encode("GET / HTTP/1.1\r\n")),
    (error: PcapError) => {
      assert.ok(error instanceof PcapError);
      assert.match(
        error.message,
        /^Not a pcap or pcapng file: it starts with 0x47455420/,
      );
      return true;
    },
  );
  await assert.rejects(records(new Uint8Array(2)), /shorter than 4 bytes/);
});

Deno.test("readCapture() yields the records before a truncation, then names record and offset", async () => {
  const seen: number[] = [];
  const cut = ethernet.slice(0, ethernet.length - 10);
  await assert.rejects(
    async () => {
      for await (const record of readCapture(streamOf(cut))) {
        seen.push(
          record.index,
        );
      }
    },
    /^PcapError: Record 8 at offset \d+ is cut short: \d+ bytes announced, \d+ present$/,
  );
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("readCapture() refuses impossible lengths instead of trusting them", async () => {
  const huge = ethernet.slice();
  new DataView(huge.buffer).setUint32(24 + 8, 0x7fffffff, true); // first record's captured length
  await assert.rejects(
    records(huge),
    /Record 1 at offset 24 claims 2147483647 captured bytes \(limit 262144\)/,
  );
  const badBlock = pcapng.slice();
  new DataView(badBlock.buffer).setUint32(4, 13, true); // section header length not a multiple of 4
  await assert.rejects(
    records(badBlock),
    /^PcapError: Cannot read record 1: the block at offset 0 has an impossible length \(13\)$/,
  );
});

/** A little-endian pcapng block around `body` (a multiple of 4 bytes long). */
function pcapngBlock(type: number, body: number[] | Uint8Array): Uint8Array {
  const length = 12 + body.length;
  const block = new Uint8Array(length);
  const view = new DataView(block.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, length, true);
  block.set(body, 8);
  view.setUint32(length - 4, length, true);
  return block;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  parts.reduce((at, part) => (out.set(part, at), at + part.length), 0);
  return out;
}

/** Section header (28 bytes): byte-order magic, version 1.0, section length unknown. */
const SECTION = pcapngBlock(0x0a0d0d0a, [0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, ...new Array(8).fill(0xff)]);
/** Interface description (20 bytes): Ethernet, no snap length. */
const INTERFACE = pcapngBlock(1, [1, 0, 0, 0, 0, 0, 0, 0]);
/** Enhanced packet block (36 bytes) on interface 0 with 4 bytes of data. */
const PACKET = pcapngBlock(6, [...new Array(12).fill(0), 4, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4]);

/** A simple packet block holding `length` bytes of packet, its original length the same. */
function simplePacket(length: number): Uint8Array {
  const body = new Uint8Array(4 + length);
  new DataView(body.buffer).setUint32(0, length, true);
  return pcapngBlock(3, body);
}

/** `bytes` with the 32-bit little- or big-endian number at `at` set to `value`. */
function withNumber(bytes: Uint8Array, at: number, value: number, little = true): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(at, value, little);
  return out;
}

Deno.test("readCapture() names the record and the byte offset of every defect after the file header", async () => {
  // handshake-two-sections.pcapng: record 1 (an enhanced packet block) at 252, 108 bytes long; the second,
  // big-endian section header at 1188 (byte-order magic at 1196), its interface block at 1352.
  const defects: [string, Uint8Array, number, number][] = [
    ["pcap record header cut short", ethernet.slice(0, 24 + 5), 1, 24],
    ["pcap record cut short", ethernet.slice(0, 24 + 20), 1, 24],
    ["pcap record too long", withNumber(ethernet, 24 + 8, 0x7fffffff), 1, 24],
    ["block header cut short", twoSections.slice(0, 252 + 5), 1, 252],
    ["block length not a multiple of 4", withNumber(twoSections, 252 + 4, 13), 1, 252],
    ["block cut short", twoSections.slice(0, 252 + 50), 1, 252],
    ["trailing length differs", withNumber(twoSections, 252 + 104, 0), 1, 252],
    ["second section without byte-order magic", withNumber(twoSections, 1196, 0), 9, 1188],
    ["packet on an undefined interface", withNumber(twoSections, 252 + 8, 5), 1, 252],
    ["packet longer than its block", withNumber(twoSections, 252 + 20, 1000), 1, 252],
    ["packet block too short", concat(SECTION, INTERFACE, pcapngBlock(6, new Array(16).fill(0))), 1, 48],
    ["simple packet before any interface", concat(SECTION, pcapngBlock(3, [4, 0, 0, 0, 1, 2, 3, 4])), 1, 28],
    ["simple packet block too short", concat(SECTION, INTERFACE, pcapngBlock(3, [])), 1, 48],
    ["simple packet above the packet limit", concat(SECTION, INTERFACE, simplePacket(MAX_PACKET_BYTES + 4)), 1, 48],
    ["interface block too short", concat(SECTION, INTERFACE, PACKET, pcapngBlock(1, [1, 0, 0, 0])), 2, 84],
  ];
  for (const [what, bytes, record, offset] of defects) {
    const error = await records(bytes).then(() => undefined, (error) => error);
    assert.ok(error instanceof PcapError, `${what}: ${error}`);
    assert.equal(error.record, record, `${what}: ${error.message}`);
    assert.equal(error.offset, offset, `${what}: ${error.message}`);
    assert.match(error.message, new RegExp(`\\brecord ${record}\\b`, "i"), what);
    assert.match(error.message, new RegExp(`\\boffset ${offset}\\b`), what);
    assert.match(error.message, /^[A-Z][^\n]*[^.]$/, what);
  }
});

Deno.test("readCapture() holds a simple packet block to the packet limit, as it does an enhanced one", async () => {
  const atLimit = await records(concat(SECTION, INTERFACE, simplePacket(MAX_PACKET_BYTES)), 4096);
  assert.equal(atLimit[0].data.length, MAX_PACKET_BYTES);
  await assert.rejects(
    records(concat(SECTION, INTERFACE, simplePacket(MAX_PACKET_BYTES + 4)), 4096),
    /^PcapError: Record 1 at offset 48 claims 262148 captured bytes \(limit 262144\)$/,
  );
});

Deno.test("readCapture() yields every record read before a defective interface block", async () => {
  // The second section's interface block (at 1352, big-endian) cut to 16 bytes, its lengths kept consistent.
  const shortInterface = concat(
    withNumber(twoSections.slice(0, 1352 + 8), 1352 + 4, 16, false),
    new Uint8Array(4),
    withNumber(new Uint8Array(4), 0, 16, false),
    twoSections.slice(1352 + 88),
  );
  const seen: number[] = [];
  let stopped: unknown;
  try {
    // One chunk: the whole file is buffered, so nothing is handed over until the reader decides to.
    for await (const record of readCapture(streamOf(shortInterface, shortInterface.length))) seen.push(record.index);
  } catch (error) {
    stopped = error;
  }
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.match(
    String(stopped),
    /^PcapError: Cannot read record 9: the interface block at offset 1352 is too short \(16 bytes\)$/,
  );
});

Deno.test("decodeProblem() reports how much is missing from a packet cut short", () => {
  const problemOf = (linkType: number, frame: Uint8Array) => {
    const fields = new PacketFields();
    assert.equal(fields.decode(linkType, frame, 0, frame.length), false);
    return decodeProblem(fields);
  };
  assert.equal(
    problemOf(LinkType.ETHERNET, new Uint8Array(10)),
    "Too short for an Ethernet header (10 of 14 bytes)",
  );
  const arp = new Uint8Array(42);
  arp[12] = 0x08;
  arp[13] = 0x06;
  assert.equal(problemOf(LinkType.ETHERNET, arp), "Not IP (ethertype 0x0806)");
  assert.match(problemOf(147, new Uint8Array(40)), /^Link type 147 is not supported/);
});

// The fast path: records read where they lie, annotated into one reused annotation, written byte by byte.

/** An Ethernet frame around an IP packet (IPv4 when `version` is 4) carrying `protocol` with `body`. */
function ipFrame(version: 4 | 6, protocol: number, body: number[], hop = 0): Uint8Array {
  const v6 = (last: number) => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
  const ip = version === 4
    ? [0x45, 0, 0, 20 + body.length, 0, 0, 0, 0, 64, protocol, 0, 0, 198, 18, 0, 1 + hop, 198, 18, 0, 2 - hop]
    : [0x60, 0, 0, 0, 0, body.length, protocol, 64, ...v6(1 + hop), ...v6(2 - hop)];
  return Uint8Array.from([...new Array(12).fill(0), ...(version === 4 ? [8, 0] : [0x86, 0xdd]), ...ip, ...body]);
}

/** A TCP header from port `from` to `to` with `flags`, `options` (a multiple of 4 bytes) and `payload` bytes of data. */
function tcpSegment(
  from: number,
  to: number,
  flags: number,
  seq: number,
  options: number[] = [],
  payload = 0,
): number[] {
  const header = new Uint8Array(20 + options.length);
  const view = new DataView(header.buffer);
  view.setUint16(0, from);
  view.setUint16(2, to);
  view.setUint32(4, seq);
  view.setUint32(8, 1000);
  header[12] = (5 + options.length / 4) << 4;
  header[13] = flags;
  view.setUint16(14, 512);
  header.set(options, 20);
  return [...header, ...new Array(payload).fill(0x61)];
}

/** A nanosecond pcap of Ethernet `frames`, each at its offset in nanoseconds from a fixed start. */
function nanosecondPcap(frames: [number, Uint8Array][]): Uint8Array {
  const header = new DataView(new ArrayBuffer(24));
  header.setUint32(0, 0xa1b23c4d, true);
  header.setUint16(4, 2, true);
  header.setUint16(6, 4, true);
  header.setUint32(16, 65535, true);
  header.setUint32(20, LinkType.ETHERNET, true);
  return concat(
    new Uint8Array(header.buffer),
    ...frames.map(([offsetNs, frame]) => {
      const record = new DataView(new ArrayBuffer(16));
      const ns = 1_700_000_000n * 1_000_000_000n + BigInt(offsetNs);
      record.setUint32(0, Number(ns / 1_000_000_000n), true);
      record.setUint32(4, Number(ns % 1_000_000_000n), true);
      record.setUint32(8, frame.length, true);
      record.setUint32(12, frame.length, true);
      return concat(new Uint8Array(record.buffer), frame);
    }),
  );
}

const OPTIONS = [2, 4, 5, 0xb4, 3, 3, 14, 1, 4, 2, 5, 18, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 10, 0, 0, 0, 20, 1, 1, 1, 1];
/**
 * Packets whose text is easy to get wrong: times half-way between two
 * microseconds, under one, before the first packet and after eleven
 * days; IPv6, options, a window scale past 2^53, UDP, ICMP, ARP.
 */
const TRICKY = nanosecondPcap([
  [0, ipFrame(4, 6, tcpSegment(40000, 80, 0x02, 7, [2, 4, 5, 0xb4, 3, 3, 60, 1]))],
  [1, ipFrame(4, 6, tcpSegment(80, 40000, 0x12, 99), 1)],
  [499, ipFrame(6, 6, tcpSegment(40001, 443, 0x02, 0, OPTIONS))],
  [500, ipFrame(6, 6, tcpSegment(443, 40001, 0x12, 5, OPTIONS), 1)],
  [1_500, ipFrame(6, 6, tcpSegment(40001, 443, 0x18, 1, [8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1], 1400))],
  [2_500, ipFrame(4, 17, [0, 53, 0x9c, 0x40, 0, 20, 0, 0, ...new Array(12).fill(0)])],
  [999_999_500, ipFrame(4, 1, [8, 0, 0, 0])],
  [1_000_000_000, Uint8Array.from([...new Array(12).fill(0), 8, 6, ...new Array(28).fill(0)])],
  [1_000_000_500, ipFrame(6, 6, tcpSegment(40001, 443, 0x11, 1401))],
  [-3_000_000_500, ipFrame(6, 6, tcpSegment(443, 40001, 0x11, 6), 1)],
  [12 * 86_400_000_000_000, ipFrame(6, 6, tcpSegment(40001, 443, 0x10, 1402))],
  [7_000, ipFrame(4, 6, tcpSegment(40000, 80, 0x04, 8))],
]);

/** Annotates `bytes` on the fast path and as objects: the written bytes next to what the objects make. */
async function bothWays(bytes: Uint8Array) {
  const annotator = new Annotator();
  const lines = new BufferedByteWriter(undefined, 1 << 20);
  const json = new BufferedByteWriter(undefined, 1 << 20);
  const objects: AnnotatedPacket[] = [];
  try {
    const scanner = await CaptureScanner.open(streamSource(streamOf(bytes, 4096)));
    while (await scanner.fill()) {
      while (scanner.next()) {
        const annotation = annotator.annotateView(scanner.record);
        writePacketLine(lines, annotation);
        writePacketJson(json, annotation);
        objects.push(toAnnotatedPacket(annotation));
      }
    }
  } catch (error) {
    if (!(error instanceof PcapError)) throw error;
  }
  return { lines: lines.take(), json: json.take(), objects };
}

Deno.test("writePacketLine() and writePacketJson() write what formatPacketLine() and JSON.stringify() make of the same packet", async () => {
  const captures: [string, Uint8Array][] = [
    ...Object.entries(FIXTURES).map(([name, { bytes }]): [string, Uint8Array] => [name, bytes]),
    ["tricky packets", TRICKY],
    ...Array.from({ length: 150 }, (_, n): [string, Uint8Array] => [`fuzz case ${n}`, pcapFuzzCase(1, n).bytes]),
  ];
  for (const [name, bytes] of captures) {
    const { lines, json, objects } = await bothWays(bytes);
    assert.equal(lines, objects.map((p) => `${formatPacketLine(p)}\n`).join(""), name);
    assert.equal(json, objects.map((p) => `${JSON.stringify(p)}\n`).join(""), name);
  }
  const { objects } = await bothWays(TRICKY);
  assert.deepEqual(objects.map((p) => p.time.toFixed(6)), [
    "0.000000",
    "0.000000",
    "0.000000",
    "0.000000", // 500 ns: half-way; the double 5e-7 is a hair under it
    "0.000002",
    "0.000003", // 2 500 ns: half-way; the double 2.5e-6 a hair over it
    "1.000000",
    "1.000000",
    "1.000001",
    "-3.000001",
    "1036800.000000",
    "0.000007",
  ]);
  assert.deepEqual(objects.map((p) => p.time).slice(0, 4), [0, 1e-9, 4.99e-7, 5e-7]);
  assert.match(objects[0].options, /^MSS 1460, WS ×1152921504606847000$/);
  assert.equal(objects[2].options, "MSS 1460, WS ×16384, SACK-permitted, SACK 1-9,10-20");
  assert.equal(objects[2].src, "[2001:db8::1]:40001");
  assert.equal(objects[4].options, "TS 1/2");
  assert.deepEqual(objects.map((p) => p.protocol), [
    "TCP",
    "TCP",
    "TCP",
    "TCP",
    "TCP",
    "UDP",
    "IP",
    "IP",
    "TCP",
    "TCP",
    "TCP",
    "TCP",
  ]);
});

Deno.test("Annotator forgets the oldest of 65 536 open conversations first, and only past that many", async () => {
  // Conversation 0 opens first, then 65 536 more: 0 is forgotten, 1 is not.
  const syns = Array.from(
    { length: 65_537 },
    (_, i): [number, Uint8Array] => [i, ipFrame(4, 6, tcpSegment(i % 65_536, 80 + Math.floor(i / 65_536), 0x02, 1))],
  );
  // Conversation 1 answers first (remembered), then 0 (forgotten: its SYN-ACK starts a new conversation, the server
  // taken for the client, its ack numbered from the ack − 1 as Wireshark does without the SYN; and adding it
  // forgets the next oldest).
  const answers = [1, 0].map((i): [number, Uint8Array] => [70_000 + i, ipFrame(4, 6, tcpSegment(80, i, 0x12, 5), 1)]);
  const annotator = new Annotator();
  const packets = (await records(nanosecondPcap([...syns, ...answers]), 1 << 16)).map((r) => annotator.annotate(r));
  const last = packets.slice(-2);
  assert.deepEqual(last.map((p) => [p.direction, p.relativeAck]), [["←", 999], ["→", 1]]);
});

Deno.test("readCapture() converts pcapng timestamps of every if_tsresol to the exact nanosecond", async () => {
  // One interface per resolution: none (µs), 10^-6, 10^-9, 10^-3, 1 s, 10^-12, 2^-10, 2^-30.
  const resolutions = [undefined, 6, 9, 3, 0, 12, 0x80 | 10, 0x80 | 30];
  const interfaces = resolutions.map((r) =>
    pcapngBlock(1, [1, 0, 0, 0, 0, 0, 0, 0, ...(r === undefined ? [] : [9, 0, 1, 0, r, 0, 0, 0]), 0, 0, 0, 0])
  );
  const units: [number, number][] = [[0, 0], [0, 1], [0xffffffff, 0xffffffff], [0x00060000, 0x12345678], [
    395_000,
    999_999_999,
  ], [1, 0]];
  const random = new SeededRandom(9);
  for (let i = 0; i < 40; i++) units.push([random.uint32(), random.uint32()]);
  const packets = resolutions.flatMap((_, iface) =>
    units.map(([high, low]) => {
      const body = new DataView(new ArrayBuffer(20));
      body.setUint32(0, iface, true);
      body.setUint32(4, high, true);
      body.setUint32(8, low, true);
      return pcapngBlock(6, new Uint8Array(body.buffer));
    })
  );
  const read = await records(concat(SECTION, ...interfaces, ...packets), 4096);
  const expected = resolutions.flatMap((r) =>
    units.map(([high, low]) => {
      const value = (BigInt(high) << 32n) | BigInt(low);
      if (r === undefined) return value * 1000n;
      if (r & 0x80) return value * 1_000_000_000n / (1n << BigInt(r & 0x7f));
      return r <= 9 ? value * 10n ** BigInt(9 - r) : value / 10n ** BigInt(r - 9);
    })
  );
  assert.deepEqual(read.map((record) => record.timestampNs), expected);
});

Deno.test("ConversationTable finds, adds, forgets and evicts as a Map in insertion order would", () => {
  const random = new SeededRandom(20_250_808);
  // Addresses side by side in one buffer: eight IPv4 (4 bytes each), then eight IPv6 (16 bytes each).
  const addresses = random.bytes(8 * 4 + 8 * 16);
  addresses.set([1, 2, 3, 4], 4); // two IPv4 addresses alike in all but their last byte
  addresses.set([1, 2, 3, 5], 8);
  const fields = new PacketFields();
  fields.bytes = addresses;
  const table = new ConversationTable(64, 4);
  const model = new Map<string, number>();
  for (let step = 0; step < 20_000; step++) {
    fields.ipVersion = random.chance(0.5) ? 4 : 6;
    const at = () => fields.ipVersion === 4 ? 4 * random.int(0, 7) : 32 + 16 * random.int(0, 7);
    [fields.srcAt, fields.dstAt] = [at(), at()];
    [fields.srcPort, fields.dstPort] = [random.pick([80, 443, 0, 65535]), random.pick([80, 443, 0, 65535])];
    const endpoint = (start: number, port: number) =>
      `${fields.ipVersion}/${addresses.subarray(start, start + (fields.ipVersion === 4 ? 4 : 16))}/${port}`;
    const key = [endpoint(fields.srcAt, fields.srcPort), endpoint(fields.dstAt, fields.dstPort)].sort().join(" ");
    table.setKey(fields);
    const slot = table.find();
    assert.equal(slot, model.get(key) ?? -1, `step ${step}`);
    if (slot < 0) {
      if (model.size === 64) model.delete(model.keys().next().value!);
      model.set(key, table.add());
    } else if (random.chance(0.3)) {
      table.delete(slot);
      model.delete(key);
    }
    assert.equal(table.size, model.size);
    assert.ok(new Set(model.values()).size === model.size, "every conversation has its own slot");
  }
  assert.equal(table.capacity, 64);
});

const cli = requires("read", "run");

Deno.test({
  name: `deno task pcap FILE prints, line for line, what annotateFile() finds${cli.suffix}`,
  ignore: cli.ignore,
  fn: async () => {
    const root = decodeURIComponent(new URL("../", import.meta.url).pathname);
    const pcap = async (args: string[]) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "tasks/pcap.ts", ...args],
        cwd: root,
        stdin: "null",
      }).output();
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      return new TextDecoder().decode(output.stdout);
    };
    for (const name of ["handshake-ethernet.pcap", "handshake-ipv6.pcap", "handshake-two-interfaces.pcapng"]) {
      const path = `${root}tests/fixtures/pcap/${name}`;
      const { packets, error } = await annotateFile(path);
      assert.equal(error, undefined);
      assert.equal(await pcap([path, "--json"]), packets.map((p) => `${JSON.stringify(p)}\n`).join(""), name);
      const text = await pcap([path, "--no-tshark"]);
      assert.equal(
        text,
        `${packets.map((p) => `${formatPacketLine(p)}\n`).join("")}\n${packets.length} packets. ` +
          "The first TCP conversation is whole: handshake, data, and both FINs acknowledged.\n",
        name,
      );
    }
  },
});
