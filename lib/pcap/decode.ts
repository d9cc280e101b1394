/**
 * From a captured frame to TCP or UDP: the link layer (Ethernet, Linux
 * cooked SLL and SLL2, BSD loopback NULL and LOOP, raw IP), IPv4 or IPv6,
 * then the transport header with its options.
 *
 * Lengths come from the IP header, not from what was captured, so a packet
 * cut by the snap length still reports its real payload length.
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

/** A TCP segment's header. */
export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Flag names in the order tcpdump prints them: SYN, FIN, RST, PSH, ACK, URG, ECE, CWR, AE. */
  flags: string[];
  window: number;
  /** Options by name: MSS, window scale, SACK-permitted, SACK blocks, timestamps. */
  options: TcpOptions;
  /** Payload bytes on the wire (from the IP length), whatever the snap length kept. */
  payloadLength: number;
}

/** The TCP options a handshake shows. */
export interface TcpOptions {
  mss?: number;
  windowScale?: number;
  sackPermitted?: boolean;
  sack?: [number, number][];
  timestamp?: { value: number; echo: number };
}

/** One decoded packet; `tcp` or `udp` is set when the transport is one of them. */
export interface DecodedPacket {
  ipVersion: 4 | 6;
  src: string;
  dst: string;
  /** IP protocol number (6 TCP, 17 UDP…). */
  protocol: number;
  tcp?: TcpHeader;
  udp?: { srcPort: number; dstPort: number; payloadLength: number };
  /** True when the snap length cut the packet inside the bytes we decode. */
  truncated: boolean;
}

/** Why a frame could not be decoded. */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecodeError";
  }
}

/** Decodes one frame. Throws DecodeError for what is not IP, or too short to read. */
export function decodePacket(
  linkType: number,
  data: Uint8Array,
): DecodedPacket {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const { ethertype, offset } = linkLayer(linkType, view);
  if (ethertype === 0x0800) return decodeIp(view, offset, 4);
  if (ethertype === 0x86dd) return decodeIp(view, offset, 6);
  throw new DecodeError(
    `Not IP (ethertype 0x${ethertype.toString(16).padStart(4, "0")})`,
  );
}

function need(view: DataView, end: number, what: string): void {
  if (view.byteLength < end) {
    throw new DecodeError(
      `Too short for ${what} (${view.byteLength} of ${end} bytes)`,
    );
  }
}

/** The network protocol (as an ethertype) and where its header starts. */
function linkLayer(
  linkType: number,
  view: DataView,
): { ethertype: number; offset: number } {
  switch (linkType) {
    case LinkType.ETHERNET: {
      need(view, 14, "an Ethernet header");
      let ethertype = view.getUint16(12);
      let offset = 14;
      while (ethertype === 0x8100 || ethertype === 0x88a8) { // VLAN tags
        need(view, offset + 4, "a VLAN tag");
        ethertype = view.getUint16(offset + 2);
        offset += 4;
      }
      return { ethertype, offset };
    }
    case LinkType.LINUX_SLL:
      need(view, 16, "a Linux cooked (SLL) header");
      return { ethertype: view.getUint16(14), offset: 16 };
    case LinkType.LINUX_SLL2:
      need(view, 20, "a Linux cooked (SLL2) header");
      return { ethertype: view.getUint16(0), offset: 20 };
    case LinkType.NULL:
    case LinkType.LOOP: {
      // The address family: host byte order for NULL (whoever captured),
      // network order for LOOP. 2 is AF_INET everywhere; AF_INET6 is 10, 24, 28 or 30.
      need(view, 4, "a loopback header");
      const big = view.getUint32(0, false);
      const family = linkType === LinkType.LOOP ? big : (big > 0xffff ? view.getUint32(0, true) : big);
      return { ethertype: family === 2 ? 0x0800 : 0x86dd, offset: 4 };
    }
    case LinkType.RAW:
    case 12: // LINKTYPE_RAW as some BSDs number it
    case 14: {
      need(view, 1, "an IP header");
      return {
        ethertype: view.getUint8(0) >> 4 === 6 ? 0x86dd : 0x0800,
        offset: 0,
      };
    }
    default:
      throw new DecodeError(
        `Link type ${linkType} is not supported (Ethernet, SLL, SLL2, NULL, LOOP and raw IP are)`,
      );
  }
}

function ipv4Address(view: DataView, at: number): string {
  return `${view.getUint8(at)}.${view.getUint8(at + 1)}.${view.getUint8(at + 2)}.${view.getUint8(at + 3)}`;
}

function ipv6Address(view: DataView, at: number): string {
  const groups = Array.from(
    { length: 8 },
    (_, i) => view.getUint16(at + 2 * i).toString(16),
  );
  // Shorten the longest run of zero groups to "::".
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start === -1) return groups.join(":");
  return `${groups.slice(0, best.start).join(":")}::${groups.slice(best.start + best.length).join(":")}`;
}

function decodeIp(
  view: DataView,
  offset: number,
  version: 4 | 6,
): DecodedPacket {
  let protocol: number;
  let src: string;
  let dst: string;
  let payloadOffset: number;
  let payloadLength: number;
  if (version === 4) {
    need(view, offset + 20, "an IPv4 header");
    const headerLength = (view.getUint8(offset) & 0x0f) * 4;
    if (headerLength < 20) {
      throw new DecodeError(`IPv4 header length ${headerLength} is impossible`);
    }
    need(view, offset + headerLength, "the IPv4 options");
    const totalLength = view.getUint16(offset + 2);
    protocol = view.getUint8(offset + 9);
    src = ipv4Address(view, offset + 12);
    dst = ipv4Address(view, offset + 16);
    payloadOffset = offset + headerLength;
    // TSO captures (tcpdump on the sender) may show total length 0: fall back to what was captured.
    payloadLength = totalLength === 0 ? view.byteLength - payloadOffset : totalLength - headerLength;
  } else {
    need(view, offset + 40, "an IPv6 header");
    protocol = view.getUint8(offset + 6);
    payloadLength = view.getUint16(offset + 4);
    src = ipv6Address(view, offset + 8);
    dst = ipv6Address(view, offset + 24);
    payloadOffset = offset + 40;
    // Skip the extension headers a capture commonly holds.
    while ([0, 43, 60].includes(protocol) || protocol === 44) {
      need(view, payloadOffset + 8, "an IPv6 extension header");
      const next = view.getUint8(payloadOffset);
      const length = protocol === 44 ? 8 : (view.getUint8(payloadOffset + 1) + 1) * 8;
      payloadOffset += length;
      payloadLength -= length;
      protocol = next;
    }
  }
  const packet: DecodedPacket = {
    ipVersion: version,
    src,
    dst,
    protocol,
    truncated: false,
  };
  if (protocol === 6) {
    packet.tcp = decodeTcp(view, payloadOffset, payloadLength, packet);
  }
  if (protocol === 17) {
    need(view, payloadOffset + 8, "a UDP header");
    packet.udp = {
      srcPort: view.getUint16(payloadOffset),
      dstPort: view.getUint16(payloadOffset + 2),
      payloadLength: Math.max(0, view.getUint16(payloadOffset + 4) - 8),
    };
  }
  return packet;
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

/** The flag byte for flag names: the inverse of {@linkcode TcpHeader.flags}, as tshark's tcp.flags shows it. */
export function flagBits(flags: readonly string[]): number {
  return FLAG_NAMES.reduce((bits, [bit, name]) => flags.includes(name) ? bits | bit : bits, 0);
}

/** Flag names for each of the 512 flag values (AE and the flag byte), made once: decoding a million packets asks often. */
const FLAG_NAME_TABLE: string[][] = Array.from(
  { length: 512 },
  (_, bits) => FLAG_NAMES.filter(([bit]) => bits & bit).map(([, name]) => name),
);

function flagNames(bits: number): string[] {
  return FLAG_NAME_TABLE[bits].slice();
}

function decodeTcp(
  view: DataView,
  at: number,
  segmentLength: number,
  packet: DecodedPacket,
): TcpHeader {
  need(view, at + 20, "a TCP header");
  const headerLength = (view.getUint8(at + 12) >> 4) * 4;
  if (headerLength < 20) {
    throw new DecodeError(`TCP header length ${headerLength} is impossible`);
  }
  const flagBits = view.getUint16(at + 12) & 0x1ff;
  const options: TcpOptions = {};
  const optionsEnd = Math.min(at + headerLength, view.byteLength);
  if (optionsEnd < at + headerLength) packet.truncated = true;
  for (let i = at + 20; i < optionsEnd;) {
    const kind = view.getUint8(i);
    if (kind === 0) break; // end of options
    if (kind === 1) { // no-op padding
      i++;
      continue;
    }
    if (i + 1 >= optionsEnd) break;
    const length = view.getUint8(i + 1);
    if (length < 2 || i + length > optionsEnd) break; // malformed: stop, keep what we have
    if (kind === 2 && length === 4) options.mss = view.getUint16(i + 2);
    if (kind === 3 && length === 3) options.windowScale = view.getUint8(i + 2);
    if (kind === 4) options.sackPermitted = true;
    if (kind === 5) {
      options.sack = [];
      for (let b = i + 2; b + 8 <= i + length; b += 8) {
        options.sack.push([view.getUint32(b), view.getUint32(b + 4)]);
      }
    }
    if (kind === 8 && length === 10) {
      options.timestamp = {
        value: view.getUint32(i + 2),
        echo: view.getUint32(i + 6),
      };
    }
    i += length;
  }
  return {
    srcPort: view.getUint16(at),
    dstPort: view.getUint16(at + 2),
    seq: view.getUint32(at + 4),
    ack: view.getUint32(at + 8),
    flags: flagNames(flagBits),
    window: view.getUint16(at + 14),
    options,
    payloadLength: Math.max(0, segmentLength - headerLength),
  };
}
