/**
 * Byte helpers for checkers: random payloads, comparison, and a readable
 * picture of where two byte strings first differ.
 *
 * @module
 */

/** Largest request `crypto.getRandomValues` accepts in one call. */
const RANDOM_CHUNK = 65_536;

/**
 * Returns `length` cryptographically random bytes, so that an echo server
 * cannot pass by accident (a payload of zeros would hide reordered chunks).
 *
 * @example
 * ```ts
 * import { randomBytes } from "./bytes.ts";
 * const payload = randomBytes(1 << 20);
 * ```
 */
export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += RANDOM_CHUNK) {
    crypto.getRandomValues(bytes.subarray(offset, offset + RANDOM_CHUNK));
  }
  return bytes;
}

/**
 * Returns the offset of the first byte where `a` and `b` differ, or -1 when
 * they are equal. A shorter array that is a prefix of the longer one differs
 * at its own length.
 *
 * @example
 * ```ts
 * import { firstDifference } from "./bytes.ts";
 * firstDifference(new Uint8Array([1, 2]), new Uint8Array([1, 3])); // 1
 * ```
 */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i++) {
    if (a[i] !== b[i]) return i;
  }
  return a.length === b.length ? -1 : shorter;
}

/**
 * Quotes bytes as a printable string: ASCII stays, `\r`, `\n`, `\t` and `\\`
 * are escaped, anything else becomes `\xNN`.
 *
 * @example
 * ```ts
 * import { quoteBytes } from "./bytes.ts";
 * quoteBytes(new TextEncoder().encode("GET /\r\n")); // "GET /\\r\\n"
 * ```
 */
export function quoteBytes(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += quoteByte(byte);
  return out;
}

function quoteByte(byte: number): string {
  switch (byte) {
    case 0x0d:
      return "\\r";
    case 0x0a:
      return "\\n";
    case 0x09:
      return "\\t";
    case 0x5c:
      return "\\\\";
  }
  if (byte >= 0x20 && byte < 0x7f) return String.fromCharCode(byte);
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}

/** How many bytes either side of a difference {@linkcode describeMismatch} shows. */
const WINDOW = 12;

/**
 * Describes how `actual` differs from `expected`: the offset, both byte
 * strings quoted around it, and a caret under the first differing byte.
 * Returns `undefined` when they are equal.
 *
 * @example
 * ```ts
 * import { describeMismatch } from "./bytes.ts";
 * const enc = new TextEncoder();
 * console.log(describeMismatch(enc.encode("hello"), enc.encode("help")));
 * // first difference at byte 3 of 5 expected (4 received)
 * //   expected: "hello"
 * //   received: "help"
 * //                 ^
 * ```
 */
export function describeMismatch(
  expected: Uint8Array,
  actual: Uint8Array,
): string | undefined {
  const at = firstDifference(expected, actual);
  if (at === -1) return undefined;
  const start = Math.max(0, at - WINDOW);
  const excerpt = (bytes: Uint8Array) => {
    const before = quoteBytes(bytes.subarray(start, at));
    const rest = quoteBytes(bytes.subarray(at, at + WINDOW));
    const more = bytes.length > at + WINDOW ? "…" : "";
    return { line: `${start > 0 ? "…" : ""}"${before}${rest}"${more}`, before };
  };
  const want = excerpt(expected);
  const got = excerpt(actual);
  const lead = (start > 0 ? 1 : 0) + 1 + got.before.length;
  const received = at >= actual.length ? `${got.line}  (ended here)` : got.line;
  return [
    `first difference at byte ${at} of ${expected.length} expected (${actual.length} received)`,
    `  expected: ${want.line}`,
    `  received: ${received}`,
    `            ${" ".repeat(lead)}^`,
  ].join("\n");
}

/** Formats a byte count the way people read it: `64 KiB`, `16 MiB`, `12 B`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes >> 20} MiB`;
  if (bytes >= 1 << 10 && bytes % (1 << 10) === 0) return `${bytes >> 10} KiB`;
  return `${bytes} B`;
}
