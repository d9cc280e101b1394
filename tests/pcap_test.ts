/**
 * lib/pcap against real captures (tests/fixtures/pcap, see its README):
 * every format and link type, compared with tshark's own decoding, and the
 * defects a capture file can have.
 */

import assert from "node:assert/strict";
import { Annotator, missingSteps } from "../lib/pcap/annotate.ts";
import { decodePacket, flagBits, LinkType } from "../lib/pcap/decode.ts";
import { type CaptureRecord, PcapError, readCapture } from "../lib/pcap/reader.ts";
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
    /Block at offset 0 has an impossible length: 13/,
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
