/**
 * One annotated packet as `deno task pcap` prints it, written byte by
 * byte into the output buffer: the fixed-width line, or the JSON object.
 * The bytes are those formatPacketLine() and JSON.stringify() make of the
 * same packet as an object (tests/pcap_test.ts holds them to it), without
 * a string or an object per packet.
 *
 * @module
 */

import { type BufferedByteWriter, digitCount } from "../report/buffered_writer.ts";
import { type Annotation, Meaning, type PacketLabel, TCP_SEGMENT, UDP_DATAGRAM, UNDECODED } from "./annotation.ts";
import { decodeProblem, FLAG_NAME_TABLE } from "./decode.ts";
import { writeAddress, writeEndpoint, writeOptions } from "./packet_text.ts";
import { flagLetters } from "./table.ts";

const encoder = new TextEncoder();
const RIGHT_ARROW = encoder.encode(" → ");
const LEFT_ARROW = encoder.encode(" ← ");

/** Each flag byte as tcpdump's letters ("[S.]") and as a JSON array (["SYN","ACK"]), encoded once. */
const FLAG_LETTERS = FLAG_NAME_TABLE.map((names) => encoder.encode(flagLetters(names)));
const FLAG_JSON = FLAG_NAME_TABLE.map((names) => encoder.encode(JSON.stringify(names)));

const SEQ = encoder.encode("seq ");
const ACK_NUMBER = encoder.encode(" ack ");
const LEN = encoder.encode(" len ");
const UDP_FLAGS = encoder.encode("UDP    ");
const IP_FLAGS = encoder.encode("IP     ");
// The JSON object's constant pieces, keys in the order the object has them.
const JSON_NUMBER = encoder.encode(`{"number":`);
const JSON_TIME = encoder.encode(`,"time":`);
const JSON_SRC = encoder.encode(`,"src":`);
const JSON_DST = encoder.encode(`,"dst":`);
const JSON_SOURCE = encoder.encode(`,"source":`);
const JSON_DESTINATION = encoder.encode(`,"destination":`);
const JSON_ADDRESS = encoder.encode(`{"address":"`);
const JSON_PORT = encoder.encode(`,"port":`);
const JSON_FROM_CLIENT = encoder.encode(`,"direction":"→","protocol":"TCP","flags":`);
const JSON_FROM_SERVER = encoder.encode(`,"direction":"←","protocol":"TCP","flags":`);
const JSON_SEQ = encoder.encode(`,"seq":`);
const JSON_ACK = encoder.encode(`,"ack":`);
const JSON_RELATIVE_SEQ = encoder.encode(`,"relativeSeq":`);
const JSON_RELATIVE_ACK = encoder.encode(`,"relativeAck":`);
const JSON_LENGTH = encoder.encode(`,"length":`);
const JSON_WINDOW = encoder.encode(`,"window":`);
const JSON_OPTIONS = encoder.encode(`,"options":"`);
const JSON_LABELS = Object.fromEntries(
  ["SYN", "SYN-ACK", "ACK", "DATA", "FIN", "RST", "OTHER"].map((label) => [
    label,
    encoder.encode(`","label":"${label}","meaning":"`),
  ]),
) as Record<PacketLabel, Uint8Array>;
const JSON_END = encoder.encode(`"}\n`);
const JSON_UDP = encoder.encode(`,"direction":"→","protocol":"UDP","flags":[],"length":`);
const JSON_IP = encoder.encode(`,"direction":"→","protocol":"IP","flags":[],"length":`);
const JSON_OTHER = encoder.encode(`,"options":"","label":"OTHER","meaning":`);
const JSON_OTHER_END = encoder.encode(`}\n`);

/** More than the longest line or JSON object a packet makes (two IPv6 endpoints, options, meaning). */
export const MAX_PACKET_OUTPUT = 4096;

/** A sentence, or a piece of one, as each side says it: [the client's, the server's], encoded once. */
function bySide(sentence: (who: string, other: string) => string): readonly [Uint8Array, Uint8Array] {
  return [encoder.encode(sentence("client", "server")), encoder.encode(sentence("server", "client"))];
}

const RST = bySide((who) => `RST: the ${who} aborts the connection at once; unsent and unread data are discarded`);
const SYN = bySide((who) => `SYN: the ${who} opens the connection and proposes its initial sequence number (`);
const SYN_ACK = bySide((who) => `SYN-ACK: the ${who} accepts, proposes its own initial sequence number (`);
const SYN_ACK_END = bySide((_, other) => `) and acknowledges the ${other}'s (ack = its ISN + 1)`);
const FIN = bySide((who) => `FIN: the ${who} has nothing more to send (it closes its half)`);
const FIN_WITH = encoder.encode(", with ");
const FIN_DATA = encoder.encode(" last bytes of data");
const FIN_ACKS_FIN = bySide((_, other) => `, and acknowledges the ${other}'s FIN`);
const DATA = encoder.encode("Data: ");
const DATA_FROM = bySide((who) => ` bytes from the ${who} (relative seq `);
const DATA_TO = encoder.encode(" to ");
const HANDSHAKE_ACK = bySide((who, other) =>
  `ACK: the ${who} acknowledges the ${other}'s SYN; the handshake is complete`
);
const LAST_ACK = bySide((who, other) => `Last ACK: the ${who} acknowledges the ${other}'s FIN; both halves are closed`);
const FIN_ACK = bySide((who, other) =>
  `ACK: the ${who} acknowledges the ${other}'s FIN (a FIN counts as one sequence number)`
);
const ACK = bySide((who) => `ACK: the ${who} has received everything up to relative `);
const UDP = encoder.encode("UDP datagram, ");
const UDP_END = encoder.encode(" bytes");
const OTHER_IP = encoder.encode("IP protocol ");

/**
 * Writes what the packet means, one sentence, as {@linkcode AnnotatedPacket.meaning}
 * has it. The sentences are encoded once, whole where they hold no
 * number: copying bytes is three times faster than writing characters.
 */
export function writeMeaning(out: BufferedByteWriter, a: Annotation): void {
  const f = a.fields;
  if (a.kind === UNDECODED) return out.text(decodeProblem(f));
  if (a.kind === UDP_DATAGRAM) {
    out.copy(UDP);
    out.uint(f.payloadLength);
    return out.copy(UDP_END);
  }
  if (a.kind !== TCP_SEGMENT) {
    out.copy(OTHER_IP);
    return out.uint(f.protocol);
  }
  const side = a.fromClient ? 0 : 1;
  switch (a.meaning) {
    case Meaning.RST:
      return out.copy(RST[side]);
    case Meaning.SYN:
      out.copy(SYN[side]);
      out.uint(f.seq);
      return out.byte(0x29); // )
    case Meaning.SYN_ACK:
      out.copy(SYN_ACK[side]);
      out.uint(f.seq);
      return out.copy(SYN_ACK_END[side]);
    case Meaning.FIN:
      out.copy(FIN[side]);
      if (f.payloadLength > 0) {
        out.copy(FIN_WITH);
        out.uint(f.payloadLength);
        out.copy(FIN_DATA);
      }
      if (a.acksFin) out.copy(FIN_ACKS_FIN[side]);
      return;
    case Meaning.DATA:
      out.copy(DATA);
      out.uint(f.payloadLength);
      out.copy(DATA_FROM[side]);
      out.uint(a.relativeSeq);
      out.copy(DATA_TO);
      out.uint(a.relativeSeq + f.payloadLength);
      return out.byte(0x29);
    case Meaning.HANDSHAKE_ACK:
      return out.copy(HANDSHAKE_ACK[side]);
    case Meaning.LAST_ACK:
      return out.copy(LAST_ACK[side]);
    case Meaning.FIN_ACK:
      return out.copy(FIN_ACK[side]);
    default:
      out.copy(ACK[side]);
      return out.uint(a.relativeAck);
  }
}

/**
 * The time as `toFixed(6)` writes it, right-aligned in `width`. From the
 * exact nanoseconds the rounding is decided in integers: only a time
 * exactly half-way between two microseconds depends on the double's
 * binary value, and goes to toFixed() itself.
 */
function writeTimeFixed(out: BufferedByteWriter, a: Annotation, width: number): void {
  const remainder = a.timeNs % 1000;
  if (!a.timeExact || remainder === 500) {
    const text = a.seconds().toFixed(6);
    out.spaces(width - text.length);
    return out.ascii(text);
  }
  const micros = (a.timeNs - remainder) / 1000 + (remainder > 500 ? 1 : 0);
  const fraction = micros % 1_000_000;
  const whole = (micros - fraction) / 1_000_000;
  out.spaces(width - digitCount(whole) - 7);
  out.uint(whole);
  out.byte(0x2e);
  out.fixedDigits(fraction, 6);
}

/**
 * The time as JSON.stringify (String()) writes it. Below 10^15 ns every
 * exact count of nanoseconds n has at most 15 digits, so the shortest
 * decimal that reads back as the double n / 10^9 is n·10^-9 itself: its
 * digits, the zeros at the end dropped. Under a microsecond String()
 * switches to exponents ("5e-7"): that, and inexact times, go to String().
 */
function writeTimeJson(out: BufferedByteWriter, a: Annotation): void {
  const ns = a.timeNs;
  if (!a.timeExact || (ns > 0 && ns < 1000)) return out.ascii(String(a.seconds()));
  let fraction = ns % 1_000_000_000;
  out.uint((ns - fraction) / 1_000_000_000);
  if (fraction === 0) return;
  out.byte(0x2e);
  let digits = 9;
  while (fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  out.fixedDigits(fraction, digits);
}

/** The two endpoints, client first, the arrow showing which way the packet goes; returns the characters written. */
function writeRoute(out: BufferedByteWriter, a: Annotation): number {
  const f = a.fields;
  const start = out.used;
  if (a.kind === UNDECODED) {
    out.copy(RIGHT_ARROW);
  } else if (a.kind === TCP_SEGMENT || a.kind === UDP_DATAGRAM) {
    // The client stays on the left.
    if (a.fromClient) {
      writeEndpoint(out, f, f.srcAt, f.srcPort);
      out.copy(RIGHT_ARROW);
      writeEndpoint(out, f, f.dstAt, f.dstPort);
    } else {
      writeEndpoint(out, f, f.dstAt, f.dstPort);
      out.copy(LEFT_ARROW);
      writeEndpoint(out, f, f.srcAt, f.srcPort);
    }
  } else {
    writeAddress(out, f, f.srcAt);
    out.copy(RIGHT_ARROW);
    writeAddress(out, f, f.dstAt);
  }
  // Everything is ASCII but the arrow: three bytes, one character.
  return out.used - start - 2;
}

/**
 * Writes the packet as one fixed-width line, as formatPacketLine() does:
 * frame, time, route, flags, relative numbers, meaning.
 *
 * @example
 * ```ts ignore
 * import { BufferedByteWriter } from "../report/buffered_writer.ts";
 * import { writePacketLine } from "./packet_lines.ts";
 * const out = new BufferedByteWriter(Deno.stdout);
 * await out.room(MAX_PACKET_OUTPUT);
 * writePacketLine(out, annotator.annotateView(scanner.record));
 * await out.flush(); //       1     0.000000  127.0.0.1:38682 → 127.0.0.1:12345  [S] …
 * ```
 */
export function writePacketLine(out: BufferedByteWriter, a: Annotation): void {
  const f = a.fields;
  out.spaces(7 - digitCount(a.number));
  out.uint(a.number);
  out.byte(0x20);
  writeTimeFixed(out, a, 12);
  out.spaces(2);
  out.spaces(47 - writeRoute(out, a));
  out.byte(0x20);
  if (a.kind === TCP_SEGMENT) {
    const letters = FLAG_LETTERS[f.flags];
    out.copy(letters);
    out.spaces(6 - letters.length);
    out.byte(0x20);
    const start = out.used;
    out.copy(SEQ);
    out.uint(a.relativeSeq);
    out.copy(ACK_NUMBER);
    out.uint(a.relativeAck);
    out.copy(LEN);
    out.uint(f.payloadLength);
    out.spaces(34 - (out.used - start));
  } else {
    out.copy(a.kind === UDP_DATAGRAM ? UDP_FLAGS : IP_FLAGS);
    out.spaces(34);
  }
  out.byte(0x20);
  writeMeaning(out, a);
  out.byte(0x0a);
}

/** "address":"…"(,"port":N) inside source or destination. */
function writeJsonEndpoint(out: BufferedByteWriter, a: Annotation, at: number, port: number): void {
  out.copy(JSON_ADDRESS);
  if (a.kind !== UNDECODED) writeAddress(out, a.fields, at);
  out.byte(0x22);
  if (a.kind === TCP_SEGMENT || a.kind === UDP_DATAGRAM) {
    out.copy(JSON_PORT);
    out.uint(port);
  }
  out.byte(0x7d);
}

/** src or dst: "address:port", the address alone, or nothing, as a JSON string. */
function writeJsonEndpointText(out: BufferedByteWriter, a: Annotation, at: number, port: number): void {
  out.byte(0x22);
  if (a.kind === TCP_SEGMENT || a.kind === UDP_DATAGRAM) writeEndpoint(out, a.fields, at, port);
  else if (a.kind !== UNDECODED) writeAddress(out, a.fields, at);
  out.byte(0x22);
}

/**
 * Writes the packet as one JSON object on its own line, the bytes
 * JSON.stringify() makes of its AnnotatedPacket.
 *
 * @example
 * ```ts ignore
 * import { writePacketJson } from "./packet_lines.ts";
 * await out.room(MAX_PACKET_OUTPUT);
 * writePacketJson(out, annotation); // {"number":1,"time":0,"src":"127.0.0.1:38682",…}
 * ```
 */
export function writePacketJson(out: BufferedByteWriter, a: Annotation): void {
  const f = a.fields;
  out.copy(JSON_NUMBER);
  out.uint(a.number);
  out.copy(JSON_TIME);
  writeTimeJson(out, a);
  out.copy(JSON_SRC);
  writeJsonEndpointText(out, a, f.srcAt, f.srcPort);
  out.copy(JSON_DST);
  writeJsonEndpointText(out, a, f.dstAt, f.dstPort);
  out.copy(JSON_SOURCE);
  writeJsonEndpoint(out, a, f.srcAt, f.srcPort);
  out.copy(JSON_DESTINATION);
  writeJsonEndpoint(out, a, f.dstAt, f.dstPort);
  if (a.kind === TCP_SEGMENT) {
    out.copy(a.fromClient ? JSON_FROM_CLIENT : JSON_FROM_SERVER);
    out.copy(FLAG_JSON[f.flags]);
    out.copy(JSON_SEQ);
    out.uint(f.seq);
    out.copy(JSON_ACK);
    out.uint(f.ack);
    out.copy(JSON_RELATIVE_SEQ);
    out.uint(a.relativeSeq);
    out.copy(JSON_RELATIVE_ACK);
    out.uint(a.relativeAck);
    out.copy(JSON_LENGTH);
    out.uint(f.payloadLength);
    out.copy(JSON_WINDOW);
    out.uint(f.window);
    out.copy(JSON_OPTIONS);
    writeOptions(out, f);
    out.copy(JSON_LABELS[a.label]);
    writeMeaning(out, a);
    out.copy(JSON_END);
    return;
  }
  out.copy(a.kind === UDP_DATAGRAM ? JSON_UDP : JSON_IP);
  out.uint(a.kind === UDP_DATAGRAM ? f.payloadLength : 0);
  out.copy(JSON_OTHER);
  if (a.kind === UNDECODED) writeJsonString(out, decodeProblem(f));
  else {
    out.byte(0x22);
    writeMeaning(out, a);
    out.byte(0x22);
  }
  out.copy(JSON_OTHER_END);
}

/** Any string as JSON.stringify() writes it (for the rare text not made here: a decoding problem). */
function writeJsonString(out: BufferedByteWriter, text: string): void {
  out.text(JSON.stringify(text));
}
