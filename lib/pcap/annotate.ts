/**
 * Turns decoded TCP packets into the annotation a learner writes by hand:
 * direction, flags, sequence and acknowledgement numbers relative to each
 * side's initial sequence number (as Wireshark shows them), and one line on
 * what the packet means in the life of the connection.
 *
 * @module
 */

import type { CaptureRecord } from "./reader.ts";
import { type DecodedPacket, DecodeError, decodePacket, type TcpHeader } from "./decode.ts";

/** What a packet is, in the words of the kata's checklist. */
export type PacketLabel =
  | "SYN"
  | "SYN-ACK"
  | "ACK"
  | "DATA"
  | "FIN"
  | "RST"
  | "OTHER";

/** One annotated packet. */
export interface AnnotatedPacket {
  /** Frame number in the file (1-based). */
  number: number;
  /** Seconds since the first packet. */
  time: number;
  /** "address:port" (IPv6 in brackets), or the address alone for other IP. */
  src: string;
  dst: string;
  /** The same, split, for programs (`deno task pcap --json`). */
  source: { address: string; port?: number };
  destination: { address: string; port?: number };
  /** "→" from the side that sent the first packet (the client), "←" back. */
  direction: "→" | "←";
  protocol: "TCP" | "UDP" | "IP";
  flags: string[];
  seq?: number;
  ack?: number;
  relativeSeq?: number;
  relativeAck?: number;
  length: number;
  window?: number;
  options: string;
  label: PacketLabel;
  meaning: string;
}

/**
 * How many conversations are remembered at once. A closed conversation is
 * forgotten at its last ACK or RST; past this many open ones, the oldest
 * goes, so a capture of any size (a SYN flood, say) streams in bounded memory.
 */
const MAX_CONVERSATIONS = 65_536;

/** Per-direction state of one TCP conversation. */
interface Side {
  name: "client" | "server";
  /** Initial sequence number: the first seq seen from this side. */
  isn?: number;
  /** Sequence number just past this side's FIN, once sent. */
  finEnd?: number;
  finAcked: boolean;
}

interface Conversation {
  key: string;
  client: string;
  sides: Record<"client" | "server", Side>;
  established: boolean;
}

/** TCP sequence numbers wrap at 2^32. */
const relative = (value: number, base: number) => (value - base) >>> 0;

function endpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

type Endpoint = AnnotatedPacket["source"];

/** A packet the annotator only names: not TCP, or not decodable. */
function other(
  number: number,
  time: number,
  protocol: "UDP" | "IP",
  source: Endpoint,
  destination: Endpoint,
  length: number,
  meaning: string,
): AnnotatedPacket {
  const show = (e: Endpoint) => e.port === undefined ? e.address : endpoint(e.address, e.port);
  return {
    number,
    time,
    src: show(source),
    dst: show(destination),
    source,
    destination,
    direction: "→",
    protocol,
    flags: [],
    length,
    options: "",
    label: "OTHER",
    meaning,
  };
}

function formatOptions(tcp: TcpHeader): string {
  const o = tcp.options;
  const parts: string[] = [];
  if (o.mss !== undefined) parts.push(`MSS ${o.mss}`);
  if (o.windowScale !== undefined) parts.push(`WS ×${2 ** o.windowScale}`);
  if (o.sackPermitted) parts.push("SACK-permitted");
  if (o.sack) {
    parts.push(`SACK ${o.sack.map(([l, r]) => `${l}-${r}`).join(",")}`);
  }
  if (o.timestamp) parts.push(`TS ${o.timestamp.value}/${o.timestamp.echo}`);
  return parts.join(", ");
}

/**
 * Annotates records one by one, keeping only the state of the
 * conversations it has seen, so a capture of any size streams through.
 * Frames that are not IP, or cannot be decoded, come out as "OTHER".
 */
export class Annotator {
  #conversations = new Map<string, Conversation>();
  #firstTimestamp: bigint | undefined;

  annotate(record: CaptureRecord): AnnotatedPacket {
    this.#firstTimestamp ??= record.timestampNs;
    const time = Number(record.timestampNs - this.#firstTimestamp) / 1e9;
    let packet: DecodedPacket;
    try {
      packet = decodePacket(record.linkType, record.data);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      return other(record.index, time, "IP", { address: "" }, { address: "" }, 0, error.message);
    }
    if (packet.udp) {
      const { srcPort, dstPort, payloadLength } = packet.udp;
      const source = { address: packet.src, port: srcPort };
      const destination = { address: packet.dst, port: dstPort };
      return other(
        record.index,
        time,
        "UDP",
        source,
        destination,
        payloadLength,
        `UDP datagram, ${payloadLength} bytes`,
      );
    }
    if (!packet.tcp) {
      const meaning = `IP protocol ${packet.protocol}`;
      return other(record.index, time, "IP", { address: packet.src }, { address: packet.dst }, 0, meaning);
    }
    return this.#annotateTcp(record.index, time, packet, packet.tcp);
  }

  #annotateTcp(
    number: number,
    time: number,
    packet: DecodedPacket,
    tcp: TcpHeader,
  ): AnnotatedPacket {
    const src = endpoint(packet.src, tcp.srcPort);
    const dst = endpoint(packet.dst, tcp.dstPort);
    const key = src < dst ? `${src} ${dst}` : `${dst} ${src}`;
    const conversation = this.#conversation(key, src);
    const fromClient = src === conversation.client;
    const me = conversation.sides[fromClient ? "client" : "server"];
    const peer = conversation.sides[fromClient ? "server" : "client"];
    me.isn ??= tcp.seq;
    const relativeSeq = relative(tcp.seq, me.isn);
    const relativeAck = tcp.flags.includes("ACK") && peer.isn !== undefined ? relative(tcp.ack, peer.isn) : 0;
    if (tcp.flags.includes("FIN")) me.finEnd = relativeSeq + tcp.payloadLength + 1;
    const { label, meaning } = describeTcp(conversation, fromClient, tcp, relativeSeq, relativeAck);
    // Closed on both sides, or reset: forget it. A later packet of the same
    // four-tuple starts a new conversation (a new SYN reuses the ports).
    if (label === "RST" || (me.finAcked && peer.finAcked)) {
      this.#conversations.delete(key);
    }
    return {
      number,
      time,
      src,
      dst,
      source: { address: packet.src, port: tcp.srcPort },
      destination: { address: packet.dst, port: tcp.dstPort },
      direction: fromClient ? "→" : "←",
      protocol: "TCP",
      flags: tcp.flags,
      seq: tcp.seq,
      ack: tcp.ack,
      relativeSeq,
      relativeAck,
      length: tcp.payloadLength,
      window: tcp.window,
      options: formatOptions(tcp),
      label,
      meaning,
    };
  }

  /** The conversation `key` belongs to, made (and the oldest forgotten, past the limit) when it is new. */
  #conversation(key: string, src: string): Conversation {
    let conversation = this.#conversations.get(key);
    if (!conversation) {
      // Whoever sent the first packet we see is the client (normally the SYN).
      conversation = {
        key,
        client: src,
        sides: {
          client: { name: "client", finAcked: false },
          server: { name: "server", finAcked: false },
        },
        established: false,
      };
      if (this.#conversations.size >= MAX_CONVERSATIONS) {
        this.#conversations.delete(this.#conversations.keys().next().value!);
      }
      this.#conversations.set(key, conversation);
    }
    return conversation;
  }
}

/**
 * What a TCP segment is in the life of its conversation, and one sentence
 * on what it means; notes in `conversation` the FINs it acknowledges and
 * the handshake it completes.
 */
function describeTcp(
  conversation: Conversation,
  fromClient: boolean,
  tcp: TcpHeader,
  relativeSeq: number,
  relativeAck: number,
): { label: PacketLabel; meaning: string } {
  const me = conversation.sides[fromClient ? "client" : "server"];
  const peer = conversation.sides[fromClient ? "server" : "client"];
  const has = (flag: string) => tcp.flags.includes(flag);
  const who = me.name;
  const other = peer.name;
  if (has("RST")) {
    return {
      label: "RST",
      meaning: `RST: the ${who} aborts the connection at once; unsent and unread data are discarded`,
    };
  }
  if (has("SYN") && !has("ACK")) {
    return {
      label: "SYN",
      meaning: `SYN: the ${who} opens the connection and proposes its initial sequence number (${tcp.seq})`,
    };
  }
  if (has("SYN")) {
    return {
      label: "SYN-ACK",
      meaning:
        `SYN-ACK: the ${who} accepts, proposes its own initial sequence number (${tcp.seq}) and acknowledges the ${other}'s (ack = its ISN + 1)`,
    };
  }
  if (has("FIN")) {
    const acksFin = peer.finEnd !== undefined && relativeAck >= peer.finEnd;
    if (acksFin) peer.finAcked = true;
    return {
      label: "FIN",
      meaning: `FIN: the ${who} has nothing more to send (it closes its half)` +
        (tcp.payloadLength > 0 ? `, with ${tcp.payloadLength} last bytes of data` : "") +
        (acksFin ? `, and acknowledges the ${other}'s FIN` : ""),
    };
  }
  if (tcp.payloadLength > 0) {
    return {
      label: "DATA",
      meaning: `Data: ${tcp.payloadLength} bytes from the ${who} (relative seq ${relativeSeq} to ${
        relativeSeq + tcp.payloadLength
      })`,
    };
  }
  if (!conversation.established && fromClient) {
    conversation.established = true;
    return { label: "ACK", meaning: `ACK: the ${who} acknowledges the ${other}'s SYN; the handshake is complete` };
  }
  if (peer.finEnd !== undefined && relativeAck >= peer.finEnd && !peer.finAcked) {
    peer.finAcked = true;
    return {
      label: "ACK",
      meaning: me.finEnd !== undefined
        ? `Last ACK: the ${who} acknowledges the ${other}'s FIN; both halves are closed`
        : `ACK: the ${who} acknowledges the ${other}'s FIN (a FIN counts as one sequence number)`,
    };
  }
  return { label: "ACK", meaning: `ACK: the ${who} has received everything up to relative ${relativeAck}` };
}

/** The steps of a whole conversation, in the order they happen. */
export const CONVERSATION_STEPS = [
  "SYN",
  "SYN-ACK",
  "ACK completing the handshake",
  "data",
  "FIN from one side",
  "ACK of that FIN",
  "FIN from the other side",
  "last ACK",
] as const;

/**
 * Which steps of one whole TCP conversation (the first one in `packets`)
 * are missing. Empty means the capture holds the whole conversation.
 */
export function missingSteps(packets: readonly AnnotatedPacket[]): string[] {
  const tcp = packets.filter((p) => p.protocol === "TCP");
  if (tcp.length === 0) return [...CONVERSATION_STEPS];
  const key = [tcp[0].src, tcp[0].dst].sort().join(" ");
  const mine = tcp.filter((p) => [p.src, p.dst].sort().join(" ") === key);
  const fins = mine.filter((p) => p.label === "FIN");
  const firstFin = fins[0];
  const secondFin = fins.find((p) => p.direction !== firstFin?.direction);
  const acks = (fin: AnnotatedPacket | undefined) =>
    fin !== undefined &&
    mine.some((p) =>
      p.number > fin.number && p.direction !== fin.direction &&
      (p.relativeAck ?? 0) >= (fin.relativeSeq ?? 0) + fin.length + 1
    );
  const present: Record<typeof CONVERSATION_STEPS[number], boolean> = {
    "SYN": mine.some((p) => p.label === "SYN"),
    "SYN-ACK": mine.some((p) => p.label === "SYN-ACK"),
    "ACK completing the handshake": mine.some((p) => p.meaning.includes("handshake is complete")),
    "data": mine.some((p) => p.length > 0),
    "FIN from one side": firstFin !== undefined,
    "ACK of that FIN": acks(firstFin),
    "FIN from the other side": secondFin !== undefined,
    "last ACK": acks(secondFin),
  };
  return CONVERSATION_STEPS.filter((step) => !present[step]);
}
