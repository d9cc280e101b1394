/**
 * lib/pcap against real captures (tests/fixtures/pcap, see its README):
 * every format and link type, compared with tshark's own decoding, and the
 * defects a capture file can have.
 */

import assert from "node:assert/strict";
import { Annotator, missingSteps } from "../lib/pcap/annotate.ts";
import { decodePacket, flagBits, LinkType } from "../lib/pcap/decode.ts";
import { type CaptureRecord, MAX_PACKET_BYTES, PcapError, readCapture } from "../lib/pcap/reader.ts";
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

Deno.test("decodePacket() reports how much is missing from a packet cut short", () => {
  assert.throws(
    () => decodePacket(LinkType.ETHERNET, new Uint8Array(10)),
    /Too short for an Ethernet header \(10 of 14 bytes\)/,
  );
  const arp = new Uint8Array(42);
  arp[12] = 0x08;
  arp[13] = 0x06;
  assert.throws(
    () => decodePacket(LinkType.ETHERNET, arp),
    /Not IP \(ethertype 0x0806\)/,
  );
  assert.throws(
    () => decodePacket(147, new Uint8Array(40)),
    /Link type 147 is not supported/,
  );
});
