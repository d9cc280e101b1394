/**
 * Turns decoded TCP packets into the annotation a learner writes by hand:
 * direction, flags, sequence and acknowledgement numbers relative to each
 * side's initial sequence number (as Wireshark shows them), and one line on
 * what the packet means in the life of the connection.
 *
 * The annotator keeps its conversations in typed arrays and fills one
 * reused {@linkcode Annotation} per packet ({@linkcode Annotator.annotateView}),
 * so that a million packets stream through without a million objects;
 * {@linkcode Annotator.annotate} makes the {@linkcode AnnotatedPacket}
 * object to keep.
 *
 * @module
 */

import { BufferedByteWriter } from "../report/buffered_writer.ts";
import {
  type AnnotatedPacket,
  Annotation,
  Meaning,
  OTHER_IP,
  TCP_SEGMENT,
  UDP_DATAGRAM,
  UNDECODED,
} from "./annotation.ts";
import {
  CLIENT,
  CLIENT_FIRST,
  ConversationTable,
  ESTABLISHED,
  FIN_ACKED,
  FIN_SENT,
  ISN_KNOWN,
  SAW_SYN_ACK,
  SERVER,
} from "./conversations.ts";
import { FLAG_NAME_TABLE, type PacketFields, TCP, UDP } from "./decode.ts";
import { writeMeaning } from "./packet_lines.ts";
import { addressText, writeEndpoint, writeOptions } from "./packet_text.ts";
import type { CaptureRecord, RecordView } from "./record.ts";

export { type AnnotatedPacket, Annotation, type PacketLabel } from "./annotation.ts";
export { CONVERSATION_STEPS, ConversationSteps, missingSteps } from "./steps.ts";

/**
 * How many conversations are remembered at once. A closed conversation is
 * forgotten at its last ACK or RST; past this many open ones, the oldest
 * goes, so a capture of any size (a SYN flood, say) streams in bounded memory.
 */
const MAX_CONVERSATIONS = 65_536;

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

/** Nanoseconds of a time that fits a double exactly, split as seconds and nanoseconds. */
const EXACT_SECONDS = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Annotates records one by one, keeping only the state of the
 * conversations it has seen, so a capture of any size streams through.
 * Frames that are not IP, or cannot be decoded, come out as "OTHER".
 *
 * @example
 * ```ts ignore
 * import { Annotator } from "./annotate.ts";
 * import { readCapture } from "./reader.ts";
 * const annotator = new Annotator();
 * using file = await Deno.open("handshake.pcap");
 * for await (const record of readCapture(file.readable)) console.log(annotator.annotate(record).meaning);
 * ```
 */
export class Annotator {
  readonly #conversations = new ConversationTable(MAX_CONVERSATIONS);
  readonly #annotation = new Annotation();
  #started = false;
  /** The first packet's time: the zero of every other. */
  #firstSeconds = 0;
  #firstNanos = 0;
  #firstWide: bigint | undefined;

  /** Annotates a record, as an object to keep. */
  annotate(record: CaptureRecord): AnnotatedPacket {
    const ns = record.timestampNs;
    const seconds = ns / 1_000_000_000n;
    const exact = seconds <= EXACT_SECONDS && seconds >= -EXACT_SECONDS;
    this.#annotate(
      record.index,
      exact ? Number(seconds) : 0,
      exact ? Number(ns % 1_000_000_000n) : 0,
      exact ? undefined : ns,
      record.linkType,
      record.data,
      0,
      record.data.length,
    );
    return toAnnotatedPacket(this.#annotation);
  }

  /** Annotates a record where it lies; the annotation returned is reused by the next call. */
  annotateView(record: RecordView): Annotation {
    return this.#annotate(
      record.index,
      record.seconds,
      record.nanos,
      record.wide,
      record.linkType,
      record.bytes,
      record.start,
      record.length,
    );
  }

  #annotate(
    index: number,
    seconds: number,
    nanos: number,
    wide: bigint | undefined,
    linkType: number,
    bytes: Uint8Array,
    start: number,
    length: number,
  ): Annotation {
    const a = this.#annotation;
    a.number = index;
    this.#setTime(seconds, nanos, wide);
    a.fromClient = true;
    a.label = "OTHER";
    const fields = a.fields;
    if (!fields.decode(linkType, bytes, start, length)) a.kind = UNDECODED;
    else if (fields.protocol === UDP) a.kind = UDP_DATAGRAM;
    else if (fields.protocol !== TCP) a.kind = OTHER_IP;
    else this.#annotateTcp(a, fields);
    return a;
  }

  /**
   * Time since the first packet. In exact integer nanoseconds whenever the
   * difference fits (always, for a capture under eleven days in order);
   * otherwise, as before this was fast, Number(bigint difference) / 1e9.
   */
  #setTime(seconds: number, nanos: number, wide: bigint | undefined): void {
    if (!this.#started) {
      this.#started = true;
      [this.#firstSeconds, this.#firstNanos, this.#firstWide] = [seconds, nanos, wide];
    }
    const a = this.#annotation;
    if (wide === undefined && this.#firstWide === undefined) {
      // Exact: differences of whole numbers below 2^53, a product below 10^15 + 2^42.
      const ns = (seconds - this.#firstSeconds) * 1e9 + (nanos - this.#firstNanos);
      if (ns >= 0 && ns < 1e15) {
        a.timeNs = ns;
        a.timeExact = true;
        return;
      }
    }
    const nanoseconds = (wide ?? BigInt(seconds) * 1_000_000_000n + BigInt(nanos)) -
      (this.#firstWide ?? BigInt(this.#firstSeconds) * 1_000_000_000n + BigInt(this.#firstNanos));
    a.timeNs = 0;
    a.timeExact = false;
    a.time = Number(nanoseconds) / 1e9;
  }

  #annotateTcp(a: Annotation, f: PacketFields): void {
    const table = this.#conversations;
    const srcFirst = table.setKey(f);
    let slot = table.find();
    if (slot < 0) {
      // Whoever sent the first packet we see is the client (normally the SYN).
      slot = table.add();
      if (srcFirst) table.flags[slot] = CLIENT_FIRST;
    }
    const fromClient = srcFirst === ((table.flags[slot] & CLIENT_FIRST) !== 0);
    const me = fromClient ? CLIENT : SERVER;
    const peer = fromClient ? SERVER : CLIENT;
    // Wireshark's relative numbers: a side's base is its SYN's seq; a
    // capture that starts mid-connection has no SYN, so the base is the
    // side's first seq − 1, or the peer's first ack − 1, whichever is seen first.
    if (!(table.flags[slot] & (ISN_KNOWN << me))) {
      table.isn[2 * slot + me] = f.flags & SYN ? f.seq : (f.seq - 1) >>> 0;
      table.flags[slot] |= ISN_KNOWN << me;
    }
    if (f.flags & ACK && !(table.flags[slot] & (ISN_KNOWN << peer))) {
      table.isn[2 * slot + peer] = (f.ack - 1) >>> 0;
      table.flags[slot] |= ISN_KNOWN << peer;
    }
    // TCP sequence numbers wrap at 2^32.
    a.relativeSeq = (f.seq - table.isn[2 * slot + me]) >>> 0;
    a.relativeAck = f.flags & ACK && table.flags[slot] & (ISN_KNOWN << peer)
      ? (f.ack - table.isn[2 * slot + peer]) >>> 0
      : 0;
    if (f.flags & FIN) {
      table.finEnd[2 * slot + me] = a.relativeSeq + f.payloadLength + 1;
      table.flags[slot] |= FIN_SENT << me;
    }
    a.kind = TCP_SEGMENT;
    a.fromClient = fromClient;
    describeTcp(a, table, slot, me, peer);
    // Closed on both sides, or reset: forget it. A later packet of the same
    // four-tuple starts a new conversation (a new SYN reuses the ports).
    const bothAcked = (FIN_ACKED << CLIENT) | (FIN_ACKED << SERVER);
    if (a.label === "RST" || (table.flags[slot] & bothAcked) === bothAcked) table.delete(slot);
  }
}

/**
 * What a TCP segment is in the life of its conversation (label, and which
 * sentence says what it means); notes in the table the FINs it
 * acknowledges and the handshake it completes. `me` and `peer` are sides.
 */
function describeTcp(a: Annotation, table: ConversationTable, slot: number, me: number, peer: number): void {
  const flags = a.fields.flags;
  const state = table.flags;
  const acksPeerFin = (state[slot] & (FIN_SENT << peer)) !== 0 && a.relativeAck >= table.finEnd[2 * slot + peer];
  a.acksFin = false;
  if (flags & RST) {
    a.label = "RST";
    a.meaning = Meaning.RST;
  } else if (flags & SYN) {
    a.label = flags & ACK ? "SYN-ACK" : "SYN";
    a.meaning = flags & ACK ? Meaning.SYN_ACK : Meaning.SYN;
    if (flags & ACK) state[slot] |= SAW_SYN_ACK;
  } else if (flags & FIN) {
    a.label = "FIN";
    a.meaning = Meaning.FIN;
    a.acksFin = acksPeerFin;
    if (acksPeerFin) state[slot] |= FIN_ACKED << peer;
  } else if (a.fields.payloadLength > 0) {
    a.label = "DATA";
    a.meaning = Meaning.DATA;
  } else {
    a.label = "ACK";
    if (!(state[slot] & ESTABLISHED) && a.fromClient && state[slot] & SAW_SYN_ACK) {
      state[slot] |= ESTABLISHED;
      a.meaning = Meaning.HANDSHAKE_ACK;
    } else if (acksPeerFin && !(state[slot] & (FIN_ACKED << peer))) {
      state[slot] |= FIN_ACKED << peer;
      a.meaning = state[slot] & (FIN_SENT << me) ? Meaning.LAST_ACK : Meaning.FIN_ACK;
    } else {
      a.meaning = Meaning.ACK;
    }
  }
}

/** For the strings of an object: one packet's text is far below its size. */
const scratch = new BufferedByteWriter(undefined, 4096);

/**
 * The annotation as an object to keep.
 *
 * @example
 * ```ts ignore
 * import { Annotator, toAnnotatedPacket } from "./annotate.ts";
 * const kept = toAnnotatedPacket(new Annotator().annotateView(scanner.record));
 * console.log(kept.label, kept.meaning);
 * ```
 */
export function toAnnotatedPacket(a: Annotation): AnnotatedPacket {
  const f = a.fields;
  writeMeaning(scratch, a);
  const meaning = scratch.take();
  if (a.kind === UNDECODED) {
    return other(a, "IP", { address: "" }, { address: "" }, 0, meaning);
  }
  const source = { address: addressText(f, f.srcAt), port: f.srcPort };
  const destination = { address: addressText(f, f.dstAt), port: f.dstPort };
  if (a.kind === UDP_DATAGRAM) return other(a, "UDP", source, destination, f.payloadLength, meaning);
  if (a.kind === OTHER_IP) {
    return other(a, "IP", { address: source.address }, { address: destination.address }, 0, meaning);
  }
  writeEndpoint(scratch, f, f.srcAt, f.srcPort);
  const src = scratch.take();
  writeEndpoint(scratch, f, f.dstAt, f.dstPort);
  const dst = scratch.take();
  writeOptions(scratch, f);
  const options = scratch.take();
  return {
    number: a.number,
    time: a.seconds(),
    src,
    dst,
    source,
    destination,
    direction: a.fromClient ? "→" : "←",
    protocol: "TCP",
    flags: FLAG_NAME_TABLE[f.flags].slice(),
    seq: f.seq,
    ack: f.ack,
    relativeSeq: a.relativeSeq,
    relativeAck: a.relativeAck,
    length: f.payloadLength,
    window: f.window,
    options,
    label: a.label,
    meaning,
  };
}

type Endpoint = AnnotatedPacket["source"];

/** A packet the annotator only names: not TCP, or not decodable. */
function other(
  a: Annotation,
  protocol: "UDP" | "IP",
  source: Endpoint,
  destination: Endpoint,
  length: number,
  meaning: string,
): AnnotatedPacket {
  const show = (e: Endpoint) =>
    e.port === undefined ? e.address : e.address.includes(":") ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
  return {
    number: a.number,
    time: a.seconds(),
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
