/**
 * From a captured frame to TCP or UDP: the link layer (Ethernet, Linux
 * cooked SLL and SLL2, BSD loopback NULL and LOOP, raw IP), IPv4 or IPv6,
 * then the transport header with its options.
 *
 * Lengths come from the IP header, not from what was captured, so a packet
 * cut by the snap length still reports its real payload length.
 *
 * {@linkcode PacketFields} decodes each frame into one reused object and
 * makes no other: a million packets cost no million objects. Where a frame
 * cannot be decoded, {@linkcode decodeProblem} says why.
 *
 * @module
 */

/** Link-layer types (LINKTYPE_* in the pcap registry). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  LINUX_SLL2: 276,
} as const;

/** IP protocol numbers of the transports decoded. */
export const TCP = 6;
export const UDP = 17;

/** What stopped the decoding of a frame: a code, with the numbers its message names. */
const NO_PROBLEM = 0;
const TOO_SHORT = 1;
const NOT_IP = 2;
const UNKNOWN_LINK_TYPE = 3;
const IPV4_HEADER_LENGTH = 4;
const TCP_HEADER_LENGTH = 5;

/** The headers `Too short for …` names, by the index kept in PacketFields.problemWhat. */
const HEADER_NAMES = [
  "an Ethernet header",
  "a VLAN tag",
  "a Linux cooked (SLL) header",
  "a Linux cooked (SLL2) header",
  "a loopback header",
  "an IP header",
  "an IPv4 header",
  "the IPv4 options",
  "an IPv6 header",
  "an IPv6 extension header",
  "a TCP header",
  "a UDP header",
] as const;
const [
  ETHERNET_HEADER,
  VLAN_TAG,
  SLL_HEADER,
  SLL2_HEADER,
  LOOPBACK_HEADER,
  IP_HEADER,
  IPV4_HEADER,
  IPV4_OPTIONS,
  IPV6_HEADER,
  IPV6_EXTENSION,
  TCP_HEADER,
  UDP_HEADER,
] = HEADER_NAMES.map((_, i) => i);

/**
 * One frame's decoded fields, reused from frame to frame. Addresses stay
 * where they are in the frame's bytes (`bytes` at `srcAt` and `dstAt`, 4
 * or 16 bytes), valid as long as the frame is.
 */
export class PacketFields {
  /** Why decoding stopped (0: it did not). */
  problem: number = NO_PROBLEM;
  /** The numbers the problem's message names. */
  problemWhat = 0;
  problemHave = 0;
  problemNeed = 0;

  #ethertype = 0;
  bytes: Uint8Array = new Uint8Array(0);
  ipVersion: 4 | 6 = 4;
  srcAt = 0;
  dstAt = 0;
  /** IP protocol number (6 TCP, 17 UDP…). */
  protocol = 0;
  /** Ports, payload length: set for TCP and UDP. */
  srcPort = 0;
  dstPort = 0;
  payloadLength = 0;
  /** TCP only. */
  seq = 0;
  ack = 0;
  /** The flag byte (FIN 0x01 … CWR 0x80). */
  flags = 0;
  window = 0;
  /** TCP options; a -1 means absent. */
  mss = -1;
  windowScale = -1;
  sackPermitted = false;
  /** Number of SACK blocks (-1: no SACK option); their edges in `sack`, left then right. */
  sackBlocks = -1;
  readonly sack = new Float64Array(8);
  timestampValue = -1;
  timestampEcho = -1;
  /** True when the snap length cut the packet inside the bytes we decode. */
  truncated = false;

  /** False when the frame could not be decoded: {@linkcode decodeProblem} says why. */
  get decoded(): boolean {
    return this.problem === NO_PROBLEM;
  }

  #tooShort(what: number, have: number, need: number): false {
    this.problem = TOO_SHORT;
    this.problemWhat = what;
    this.problemHave = have;
    this.problemNeed = need;
    return false;
  }

  /** #tooShort() for the link layer, whose reader answers with an offset: -1. */
  #linkTooShort(what: number, have: number, need: number): number {
    this.#tooShort(what, have, need);
    return -1;
  }

  #fail(problem: number, value: number): false {
    this.problem = problem;
    this.problemWhat = value;
    return false;
  }

  /** Decodes `length` bytes of `bytes` from `start`: false (and `problem` set) for what is not IP or is too short. */
  decode(linkType: number, bytes: Uint8Array, start: number, length: number): boolean {
    this.problem = NO_PROBLEM;
    this.bytes = bytes;
    this.truncated = false;
    const at = this.#linkLayer(linkType, bytes, start, length);
    if (at < 0) return false;
    const ethertype = this.#ethertype;
    if (ethertype === 0x0800) return this.#ipv4(bytes, start, length, at);
    if (ethertype === 0x86dd) return this.#ipv6(bytes, start, length, at);
    return this.#fail(NOT_IP, ethertype);
  }

  /** Where the network header starts (its ethertype in #ethertype), or -1 when the link layer cannot be read. */
  #linkLayer(linkType: number, b: Uint8Array, s: number, length: number): number {
    switch (linkType) {
      case LinkType.ETHERNET: {
        if (length < 14) return this.#linkTooShort(ETHERNET_HEADER, length, 14);
        let ethertype = (b[s + 12] << 8) | b[s + 13];
        let at = 14;
        while (ethertype === 0x8100 || ethertype === 0x88a8) { // VLAN tags
          if (length < at + 4) return this.#linkTooShort(VLAN_TAG, length, at + 4);
          ethertype = (b[s + at + 2] << 8) | b[s + at + 3];
          at += 4;
        }
        this.#ethertype = ethertype;
        return at;
      }
      case LinkType.LINUX_SLL:
        if (length < 16) return this.#linkTooShort(SLL_HEADER, length, 16);
        this.#ethertype = (b[s + 14] << 8) | b[s + 15];
        return 16;
      case LinkType.LINUX_SLL2:
        if (length < 20) return this.#linkTooShort(SLL2_HEADER, length, 20);
        this.#ethertype = (b[s] << 8) | b[s + 1];
        return 20;
      case LinkType.NULL:
      case LinkType.LOOP: {
        // The address family: host byte order for NULL (whoever captured),
        // network order for LOOP. 2 is AF_INET everywhere; AF_INET6 is 10, 24, 28 or 30.
        if (length < 4) return this.#linkTooShort(LOOPBACK_HEADER, length, 4);
        const big = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) >>> 0;
        const little = ((b[s + 3] << 24) | (b[s + 2] << 16) | (b[s + 1] << 8) | b[s]) >>> 0;
        const family = linkType === LinkType.LOOP ? big : (big > 0xffff ? little : big);
        this.#ethertype = family === 2 ? 0x0800 : 0x86dd;
        return 4;
      }
      case LinkType.RAW:
      case 12: // LINKTYPE_RAW as some BSDs number it
      case 14:
        if (length < 1) return this.#linkTooShort(IP_HEADER, length, 1);
        this.#ethertype = b[s] >> 4 === 6 ? 0x86dd : 0x0800;
        return 0;
      default:
        this.#fail(UNKNOWN_LINK_TYPE, linkType);
        return -1;
    }
  }

  #ipv4(b: Uint8Array, s: number, length: number, at: number): boolean {
    this.ipVersion = 4;
    if (length < at + 20) return this.#tooShort(IPV4_HEADER, length, at + 20);
    const headerLength = (b[s + at] & 0x0f) * 4;
    if (headerLength < 20) return this.#fail(IPV4_HEADER_LENGTH, headerLength);
    if (length < at + headerLength) return this.#tooShort(IPV4_OPTIONS, length, at + headerLength);
    const totalLength = (b[s + at + 2] << 8) | b[s + at + 3];
    this.protocol = b[s + at + 9];
    this.srcAt = s + at + 12;
    this.dstAt = s + at + 16;
    const payloadAt = at + headerLength;
    // TSO captures (tcpdump on the sender) may show total length 0: fall back to what was captured.
    return this.#transport(
      b,
      s,
      length,
      payloadAt,
      totalLength === 0 ? length - payloadAt : totalLength - headerLength,
    );
  }

  #ipv6(b: Uint8Array, s: number, length: number, at: number): boolean {
    this.ipVersion = 6;
    if (length < at + 40) return this.#tooShort(IPV6_HEADER, length, at + 40);
    let protocol = b[s + at + 6];
    let payloadLength = (b[s + at + 4] << 8) | b[s + at + 5];
    this.srcAt = s + at + 8;
    this.dstAt = s + at + 24;
    let payloadAt = at + 40;
    // Skip the extension headers a capture commonly holds.
    while (protocol === 0 || protocol === 43 || protocol === 60 || protocol === 44) {
      if (length < payloadAt + 8) return this.#tooShort(IPV6_EXTENSION, length, payloadAt + 8);
      const next = b[s + payloadAt];
      const extension = protocol === 44 ? 8 : (b[s + payloadAt + 1] + 1) * 8;
      payloadAt += extension;
      payloadLength -= extension;
      protocol = next;
    }
    this.protocol = protocol;
    return this.#transport(b, s, length, payloadAt, payloadLength);
  }

  #transport(b: Uint8Array, s: number, length: number, at: number, segmentLength: number): boolean {
    if (this.protocol === TCP) return this.#tcp(b, s, length, at, segmentLength);
    if (this.protocol === UDP) {
      if (length < at + 8) return this.#tooShort(UDP_HEADER, length, at + 8);
      this.srcPort = (b[s + at] << 8) | b[s + at + 1];
      this.dstPort = (b[s + at + 2] << 8) | b[s + at + 3];
      this.payloadLength = Math.max(0, ((b[s + at + 4] << 8) | b[s + at + 5]) - 8);
    }
    return true;
  }

  #tcp(b: Uint8Array, s: number, length: number, at: number, segmentLength: number): boolean {
    if (length < at + 20) return this.#tooShort(TCP_HEADER, length, at + 20);
    const headerLength = (b[s + at + 12] >> 4) * 4;
    if (headerLength < 20) return this.#fail(TCP_HEADER_LENGTH, headerLength);
    this.srcPort = (b[s + at] << 8) | b[s + at + 1];
    this.dstPort = (b[s + at + 2] << 8) | b[s + at + 3];
    this.seq = uint32(b, s + at + 4);
    this.ack = uint32(b, s + at + 8);
    // The flag byte, and AccECN's AE (RFC 9768) in the low bit of the byte before.
    this.flags = ((b[s + at + 12] & 1) << 8) | b[s + at + 13];
    this.window = (b[s + at + 14] << 8) | b[s + at + 15];
    this.payloadLength = Math.max(0, segmentLength - headerLength);
    const optionsEnd = Math.min(at + headerLength, length);
    if (optionsEnd < at + headerLength) this.truncated = true;
    this.#tcpOptions(b, s, at + 20, optionsEnd);
    return true;
  }

  #tcpOptions(b: Uint8Array, s: number, from: number, end: number): void {
    this.mss =
      this.windowScale =
      this.sackBlocks =
      this.timestampValue =
      this.timestampEcho =
        -1;
    this.sackPermitted = false;
    for (let i = from; i < end;) {
      const kind = b[s + i];
      if (kind === 0) break; // end of options
      if (kind === 1) { // no-op padding
        i++;
        continue;
      }
      if (i + 1 >= end) break;
      const length = b[s + i + 1];
      if (length < 2 || i + length > end) break; // malformed: stop, keep what we have
      if (kind === 2 && length === 4) this.mss = (b[s + i + 2] << 8) | b[s + i + 3];
      if (kind === 3 && length === 3) this.windowScale = b[s + i + 2];
      if (kind === 4) this.sackPermitted = true;
      if (kind === 5) {
        // At most 4 blocks: the options are at most 40 bytes.
        this.sackBlocks = 0;
        for (let block = i + 2; block + 8 <= i + length; block += 8) {
          this.sack[2 * this.sackBlocks] = uint32(b, s + block);
          this.sack[2 * this.sackBlocks + 1] = uint32(b, s + block + 4);
          this.sackBlocks++;
        }
      }
      if (kind === 8 && length === 10) {
        this.timestampValue = uint32(b, s + i + 2);
        this.timestampEcho = uint32(b, s + i + 6);
      }
      i += length;
    }
  }
}

function uint32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/**
 * Why `fields` could not be decoded, in one sentence.
 *
 * @example
 * ```ts
 * import { decodeProblem, LinkType, PacketFields } from "./decode.ts";
 * const fields = new PacketFields();
 * fields.decode(LinkType.ETHERNET, new Uint8Array(10), 0, 10);
 * console.log(decodeProblem(fields)); // Too short for an Ethernet header (10 of 14 bytes)
 * ```
 */
export function decodeProblem(fields: PacketFields): string {
  const { problemWhat: what, problemHave: have, problemNeed: need } = fields;
  switch (fields.problem) {
    case TOO_SHORT:
      return `Too short for ${HEADER_NAMES[what]} (${have} of ${need} bytes)`;
    case NOT_IP:
      return `Not IP (ethertype 0x${what.toString(16).padStart(4, "0")})`;
    case UNKNOWN_LINK_TYPE:
      return `Link type ${what} is not supported (Ethernet, SLL, SLL2, NULL, LOOP and raw IP are)`;
    case IPV4_HEADER_LENGTH:
      return `IPv4 header length ${what} is impossible`;
    case TCP_HEADER_LENGTH:
      return `TCP header length ${what} is impossible`;
    default:
      return "Decoded";
  }
}

const FLAG_NAMES: [number, string][] = [
  [0x02, "SYN"],
  [0x01, "FIN"],
  [0x04, "RST"],
  [0x08, "PSH"],
  [0x10, "ACK"],
  [0x20, "URG"],
  [0x40, "ECE"],
  [0x80, "CWR"],
  // AccECN's AE (RFC 9768, once the NS nonce bit): the low bit of the byte before.
  [0x100, "AE"],
];

/** The flag byte for flag names (tcpdump's order: SYN, FIN, RST, PSH, ACK, URG, ECE, CWR, AE), as tshark's tcp.flags shows it. */
export function flagBits(flags: readonly string[]): number {
  return FLAG_NAMES.reduce((bits, [bit, name]) => flags.includes(name) ? bits | bit : bits, 0);
}

/** Flag names for each of the 512 flag values (AE and the flag byte), in tcpdump's order, made once. */
export const FLAG_NAME_TABLE: readonly (readonly string[])[] = Array.from(
  { length: 512 },
  (_, bits) => FLAG_NAMES.filter(([bit]) => bits & bit).map(([, name]) => name),
);
