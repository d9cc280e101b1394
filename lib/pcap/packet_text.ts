/**
 * A decoded packet's fields as text, written byte by byte into a
 * {@linkcode BufferedByteWriter}: addresses (IPv6 shortened as RFC 5952
 * says), endpoints, TCP options. No string is made
 * on the way; {@linkcode addressText} gives one where a string is wanted.
 *
 * @module
 */

import { BufferedByteWriter } from "../report/buffered_writer.ts";
import type { PacketFields } from "./decode.ts";

const encoder = new TextEncoder();

/** Writes the address at `at` in `fields.bytes`: dotted IPv4, or IPv6 in hex groups with the longest zero run as "::". */
export function writeAddress(out: BufferedByteWriter, fields: PacketFields, at: number): void {
  const b = fields.bytes;
  if (fields.ipVersion === 4) {
    for (let i = 0; i < 4; i++) {
      if (i > 0) out.byte(0x2e); // .
      out.uint(b[at + i]);
    }
    return;
  }
  // The longest run of two or more zero groups (the first of equals) becomes "::".
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (b[at + 2 * i] !== 0 || b[at + 2 * i + 1] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && b[at + 2 * j] === 0 && b[at + 2 * j + 1] === 0) j++;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out.byte(0x3a); // the "::" (its second colon comes before the next group, or here at the end)
      i += bestLength - 1;
      if (i === 7) out.byte(0x3a);
      continue;
    }
    if (i > 0) out.byte(0x3a);
    writeHexGroup(out, (b[at + 2 * i] << 8) | b[at + 2 * i + 1]);
  }
}

const HEX = encoder.encode("0123456789abcdef");

/** A 16-bit group in lower-case hex without leading zeros, as toString(16) writes it. */
function writeHexGroup(out: BufferedByteWriter, group: number): void {
  let started = false;
  for (let shift = 12; shift >= 0; shift -= 4) {
    const digit = (group >> shift) & 0xf;
    if (digit !== 0 || started || shift === 0) {
      out.byte(HEX[digit]);
      started = true;
    }
  }
}

/** Writes "address:port", IPv6 in brackets ("[::1]:80"). */
export function writeEndpoint(out: BufferedByteWriter, fields: PacketFields, at: number, port: number): void {
  if (fields.ipVersion === 6) out.byte(0x5b); // [
  writeAddress(out, fields, at);
  if (fields.ipVersion === 6) out.byte(0x5d); // ]
  out.byte(0x3a);
  out.uint(port);
}

/** Room for the longest address with its port and brackets, and then some. */
const scratch = new BufferedByteWriter(undefined, 256);

/**
 * The address at `at` as a string (for objects kept; the fast path writes it straight out).
 *
 * @example
 * ```ts
 * import { PacketFields } from "./decode.ts";
 * import { addressText } from "./packet_text.ts";
 * const fields = new PacketFields();
 * fields.ipVersion = 6;
 * fields.bytes = new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]);
 * console.log(addressText(fields, 0)); // 2001:db8::1
 * ```
 */
export function addressText(fields: PacketFields, at: number): string {
  writeAddress(scratch, fields, at);
  return scratch.take();
}

/** "WS ×N" for each window-scale shift (N = 2^shift, as String() writes it past 2^53 too). */
const WINDOW_SCALES: readonly Uint8Array[] = Array.from(
  { length: 256 },
  (_, shift) => encoder.encode(`WS ×${2 ** shift}`),
);

/** Writes the TCP options as the annotation shows them: "MSS 1460, WS ×128, SACK-permitted, SACK 1-2, TS 7/0". */
export function writeOptions(out: BufferedByteWriter, fields: PacketFields): void {
  const start = out.used;
  if (fields.mss >= 0) {
    out.ascii("MSS ");
    out.uint(fields.mss);
  }
  if (fields.windowScale >= 0) {
    separate(out, start);
    out.copy(WINDOW_SCALES[fields.windowScale]);
  }
  if (fields.sackPermitted) {
    separate(out, start);
    out.ascii("SACK-permitted");
  }
  if (fields.sackBlocks >= 0) {
    separate(out, start);
    out.ascii("SACK ");
    for (let i = 0; i < fields.sackBlocks; i++) {
      if (i > 0) out.byte(0x2c); // ,
      out.uint(fields.sack[2 * i]);
      out.byte(0x2d); // -
      out.uint(fields.sack[2 * i + 1]);
    }
  }
  if (fields.timestampValue >= 0) {
    separate(out, start);
    out.ascii("TS ");
    out.uint(fields.timestampValue);
    out.byte(0x2f); // /
    out.uint(fields.timestampEcho);
  }
}

/** ", " between options: when something was written since `start`. */
function separate(out: BufferedByteWriter, start: number): void {
  if (out.used > start) out.ascii(", ");
}
