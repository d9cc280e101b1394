/**
 * The annotated capture as a terminal table: one row per packet with
 * direction, flags, relative and raw seq/ack, length, window, options, and
 * what the packet means.
 *
 * @module
 */

import { formatTable } from "../report/table.ts";
import type { AnnotatedPacket } from "./annotate.ts";

/** tcpdump's flag letters: S(YN), F(IN), R(ST), P(SH), .(ACK), U(RG), E(CE), W(CWR), e (AccECN's AE). */
const LETTERS: Record<string, string> = {
  SYN: "S",
  FIN: "F",
  RST: "R",
  PSH: "P",
  ACK: ".",
  URG: "U",
  ECE: "E",
  CWR: "W",
  AE: "e",
};

/** tcpdump's way of showing flags: "[S.]" for SYN+ACK. */
export function flagLetters(flags: readonly string[]): string {
  return `[${flags.map((f) => LETTERS[f] ?? f).join("")}]`;
}

/** The packets as a table, meanings on their own indented lines. */
export function formatAnnotated(
  packets: readonly AnnotatedPacket[],
  { meanings = true } = {},
): string {
  const rows = packets.map((p) => [
    String(p.number),
    p.time.toFixed(6),
    // The client stays on the left: the arrow shows which way the packet goes.
    p.direction === "→" ? `${p.src} → ${p.dst}` : `${p.dst} ← ${p.src}`,
    // Without meanings (the labelling quiz), only tcpdump's letters: naming
    // the flags is part of the answer.
    p.protocol === "TCP" ? `${flagLetters(p.flags)}${meanings ? ` ${p.flags.join(",")}` : ""}` : p.protocol,
    p.relativeSeq === undefined ? "" : `${p.relativeSeq} (${p.seq})`,
    p.relativeAck === undefined ? "" : `${p.relativeAck} (${p.ack})`,
    String(p.length),
    p.window === undefined ? "" : String(p.window),
    p.options,
  ]);
  const table = formatTable([
    "#",
    "time",
    "client ⇄ server",
    "flags",
    "seq (raw)",
    "ack (raw)",
    "len",
    "win",
    "options",
  ], rows)
    .split("\n");
  if (!meanings) return table.join("\n");
  return [
    table[0],
    ...packets.flatMap((p, i) => [table[i + 1], `    ${p.meaning}`]),
  ].join("\n");
}

/**
 * One packet as one fixed-width line, for streaming a capture of any size
 * (a table would need every row before it could print the first).
 */
export function formatPacketLine(p: AnnotatedPacket): string {
  const route = p.direction === "→" ? `${p.src} → ${p.dst}` : `${p.dst} ← ${p.src}`;
  const flags = p.protocol === "TCP" ? flagLetters(p.flags) : p.protocol;
  const numbers = p.relativeSeq === undefined ? "" : `seq ${p.relativeSeq} ack ${p.relativeAck} len ${p.length}`;
  return `${String(p.number).padStart(7)} ${p.time.toFixed(6).padStart(12)}  ${route.padEnd(47)} ${flags.padEnd(6)} ${
    numbers.padEnd(34)
  } ${p.meaning}`;
}
