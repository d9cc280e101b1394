/**
 * Cross-checking the kit's decoding against tshark's, field by field, on
 * the same file: flags, relative sequence and acknowledgement numbers, and
 * payload length.
 *
 * @module
 */

import { runTool } from "../tools/runner.ts";
import type { AnnotatedPacket } from "./annotate.ts";
import { flagBits } from "./decode.ts";

/**
 * Runs `tshark -T fields` on `path` and lists every disagreement with
 * `packets` (empty: they agree). Throws ToolError when tshark is missing.
 */
export async function compareWithTshark(
  path: string,
  packets: readonly AnnotatedPacket[],
): Promise<string[]> {
  // icmp.type and icmpv6.type: an ICMP error quotes the header of the
  // segment it answers, and tshark reports that header's TCP fields too.
  const fields = ["frame.number", "tcp.flags", "tcp.seq", "tcp.ack", "tcp.len", "icmp.type", "icmpv6.type"];
  const { stdout } = await runTool("tshark", [
    "-r",
    path,
    "-T",
    "fields",
    "-E",
    "separator=,",
    ...fields.flatMap((f) => ["-e", f]),
  ], {
    timeoutMs: 60_000,
  });
  const ours = new Map(
    packets.filter((p) => p.protocol === "TCP").map((p) => [p.number, p]),
  );
  const problems: string[] = [];
  for (const line of stdout.trim().split("\n")) {
    const [frame, flags, seq, ack, length, icmp, icmpv6] = line.split(",");
    if (!flags || icmp || icmpv6) continue; // not TCP, or a TCP header quoted by ICMP
    const packet = ours.get(Number(frame));
    if (!packet) {
      problems.push(`frame ${frame}: tshark decodes TCP, the kit does not`);
      continue;
    }
    const mine = {
      flags: flagBits(packet.flags),
      seq: packet.relativeSeq,
      ack: packet.relativeAck,
      length: packet.length,
    };
    const theirs = {
      flags: parseInt(flags, 16),
      seq: Number(seq),
      ack: Number(ack),
      length: Number(length),
    };
    for (const key of Object.keys(mine) as (keyof typeof mine)[]) {
      if (mine[key] !== theirs[key]) {
        problems.push(
          `frame ${frame}: ${key} is ${mine[key]} here, ${theirs[key]} in tshark`,
        );
      }
    }
  }
  return problems;
}
