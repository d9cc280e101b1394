/**
 * What the annotator says about a packet, in two shapes: the
 * {@linkcode AnnotatedPacket} object to keep, and the reused
 * {@linkcode Annotation} the fast path writes out without making objects.
 *
 * @module
 */

import { PacketFields } from "./decode.ts";

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

/** What kind of packet an annotation is about. */
export const UNDECODED = 0;
export const OTHER_IP = 1;
export const UDP_DATAGRAM = 2;
export const TCP_SEGMENT = 3;

/** Which sentence says what a TCP segment means (the text is in packet_text.ts). */
export const Meaning = {
  RST: 0,
  SYN: 1,
  SYN_ACK: 2,
  FIN: 3,
  DATA: 4,
  HANDSHAKE_ACK: 5,
  LAST_ACK: 6,
  FIN_ACK: 7,
  ACK: 8,
} as const;

/**
 * One packet's annotation, reused from packet to packet: the decoded
 * fields, and what the annotator made of them. Valid until the next packet.
 */
export class Annotation {
  /** Frame number in the file (1-based). */
  number = 0;
  /** Nanoseconds since the first packet, an exact integer in [0, 10^15) when `timeExact`. */
  timeNs = 0;
  timeExact = true;
  /** Seconds since the first packet, when not `timeExact` (a time before the first, or far after). */
  time = 0;
  /** UNDECODED, OTHER_IP, UDP_DATAGRAM or TCP_SEGMENT. */
  kind = UNDECODED;
  readonly fields = new PacketFields();
  /** TCP: sent by the conversation's client (else by its server). */
  fromClient = true;
  label: PacketLabel = "OTHER";
  /** TCP: one of {@linkcode Meaning}. */
  meaning: number = Meaning.ACK;
  /** TCP: this FIN also acknowledges the peer's FIN. */
  acksFin = false;
  relativeSeq = 0;
  relativeAck = 0;

  /** Seconds since the first packet, as {@linkcode AnnotatedPacket.time} has it. */
  seconds(): number {
    return this.timeExact ? this.timeNs / 1e9 : this.time;
  }
}
