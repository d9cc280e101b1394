/**
 * lib/pcap on Kata 5's harder captures (tests/fixtures/pcap, see its
 * README): a refused attempt, a second conversation reset, a capture that
 * starts mid-connection, AccECN bits, an ICMP error quoting a TCP header.
 * Every TCP segment is compared with tshark's decoding, and with tshark
 * itself where it is installed.
 */

import assert from "node:assert/strict";
import { type AnnotatedPacket, Annotator } from "../lib/pcap/annotate.ts";
import { splitConversations } from "../lib/pcap/conversation_split.ts";
import { flagBits } from "../lib/pcap/decode.ts";
import { readCapture } from "../lib/pcap/reader.ts";
import { compareWithTshark } from "../lib/pcap/tshark.ts";
import accecn from "./fixtures/pcap/accecn.pcap" with { type: "bytes" };
import icmpRejected from "./fixtures/pcap/icmp-rejected-then-whole.pcap" with { type: "bytes" };
import midConnection from "./fixtures/pcap/mid-connection.pcap" with { type: "bytes" };
import noData from "./fixtures/pcap/no-data.pcap" with { type: "bytes" };
import refusedThenWhole from "./fixtures/pcap/refused-then-whole.pcap" with { type: "bytes" };
import refused from "./fixtures/pcap/refused.pcap" with { type: "bytes" };
import resetAfterData from "./fixtures/pcap/reset-after-data.pcap" with { type: "bytes" };
import twoConversations from "./fixtures/pcap/two-conversations-second-reset.pcap" with { type: "bytes" };
import tshark from "./fixtures/pcap/tshark-decoding.json" with { type: "json" };
import { hasProgram, requires } from "./_support.ts";

const CASES: Record<string, Uint8Array> = {
  "refused-then-whole.pcap": refusedThenWhole,
  "refused.pcap": refused,
  "two-conversations-second-reset.pcap": twoConversations,
  "reset-after-data.pcap": resetAfterData,
  "mid-connection.pcap": midConnection,
  "accecn.pcap": accecn,
  "no-data.pcap": noData,
  "icmp-rejected-then-whole.pcap": icmpRejected,
};

const fixture = (name: string) => decodeURIComponent(new URL(`./fixtures/pcap/${name}`, import.meta.url).pathname);

async function annotate(bytes: Uint8Array): Promise<AnnotatedPacket[]> {
  const annotator = new Annotator();
  const stream = ReadableStream.from([bytes]);
  return (await Array.fromAsync(readCapture(stream))).map((record) => annotator.annotate(record));
}

type TsharkRow = {
  frame: number;
  flags: number;
  seq: number;
  ack: number;
  length: number;
  seqRaw: number;
  ackRaw: number;
};

for (const [name, bytes] of Object.entries(CASES)) {
  Deno.test(`Annotator agrees with tshark on every TCP segment of ${name}`, async () => {
    const expected = (tshark as Record<string, TsharkRow[]>)[name];
    const tcp = (await annotate(bytes)).filter((packet) => packet.protocol === "TCP");
    // tshark's list leaves out the frames it decodes as ICMP: the kit must not call them TCP either.
    assert.deepEqual(tcp.map((packet) => packet.number), expected.map((row) => row.frame));
    for (const [i, packet] of tcp.entries()) {
      const want = expected[i];
      assert.deepEqual(
        [flagBits(packet.flags), packet.relativeSeq, packet.relativeAck, packet.length, packet.seq, packet.ack],
        [want.flags, want.seq, want.ack, want.length, want.seqRaw, want.ackRaw],
        `frame ${packet.number}: flags, relative seq/ack, length, raw seq/ack`,
      );
    }
  });
}

Deno.test("Annotator does not call the first ACK of a capture that starts mid-connection the end of a handshake", async () => {
  const packets = await annotate(midConnection);
  assert.equal(packets.length, 5);
  for (const packet of packets) {
    assert.doesNotMatch(packet.meaning, /handshake/, `#${packet.number}: ${packet.meaning}`);
  }
  assert.match(packets[4].meaning, /^Last ACK/);
});

Deno.test("Annotator names the AccECN bit AE, beside ECE and CWR", async () => {
  const [syn, synAck, ack] = await annotate(accecn);
  assert.deepEqual([...syn.flags].sort(), ["AE", "CWR", "ECE", "SYN"]);
  assert.deepEqual([...synAck.flags].sort(), ["ACK", "CWR", "SYN"]);
  assert.deepEqual([...ack.flags].sort(), ["ACK", "AE", "ECE"]);
  assert.equal(syn.label, "SYN");
  assert.equal(ack.label, "ACK");
});

Deno.test("splitConversations() tells conversations apart and says how each ended", async () => {
  const describe = async (bytes: Uint8Array) =>
    splitConversations(await annotate(bytes)).map((c) => ({
      packets: c.packets.map((packet) => packet.number),
      missing: c.missing,
      ending: c.ending,
    }));
  assert.deepEqual(await describe(refusedThenWhole), [
    { packets: [1, 2], missing: ["SYN-ACK", "ACK completing the handshake", "data", ...CLOSE], ending: "refused" },
    { packets: [3, 4, 5, 6, 7, 8, 9, 10], missing: [], ending: "closed" },
  ]);
  assert.deepEqual(await describe(twoConversations), [
    { packets: [1, 2, 3, 4, 5, 6, 7, 8], missing: [], ending: "closed" },
    { packets: [9, 10, 11, 12, 13, 14], missing: CLOSE, ending: "reset" },
  ]);
  assert.deepEqual(await describe(midConnection), [
    { packets: [1, 2, 3, 4, 5], missing: ["SYN", "SYN-ACK", "ACK completing the handshake"], ending: "closed" },
  ]);
  assert.deepEqual(await describe(icmpRejected), [
    { packets: [1], missing: ["SYN-ACK", "ACK completing the handshake", "data", ...CLOSE], ending: "unanswered" },
    { packets: [3, 4, 5, 6, 7, 8, 9, 10], missing: [], ending: "closed" },
  ]);
});

const CLOSE = ["FIN from one side", "ACK of that FIN", "FIN from the other side", "last ACK"];

const runs = requires("run", "read");
const haveTshark = !runs.ignore && await hasProgram("tshark", ["--version"]);

for (const name of ["accecn.pcap", "icmp-rejected-then-whole.pcap", "mid-connection.pcap", "refused-then-whole.pcap"]) {
  Deno.test({
    name: `compareWithTshark() finds no disagreement on ${name}${
      runs.suffix || (haveTshark ? "" : " [ignored: no tshark]")
    }`,
    ignore: !haveTshark,
    fn: async () => {
      assert.deepEqual(await compareWithTshark(fixture(name), await annotate(CASES[name])), []);
    },
  });
}
