/**
 * The head of an HTTP/1.1 message (start line and header fields, up to the
 * empty line), parsed strictly enough to grade someone else's server or
 * client: every line must end in CRLF, header names are tokens, and there
 * is no whitespace before the colon (RFC 9112, section 2 and 5).
 *
 * Like mini-redis's frame parser, "not enough bytes yet" is a normal answer
 * (`undefined`), and only malformed input throws.
 *
 * @module
 */

/** A parsed message head. */
export interface MessageHead {
  /** "HTTP/1.1 200 OK" or "GET / HTTP/1.1", without its CRLF. */
  startLine: string;
  /** Header fields in order, names as sent. */
  headers: [name: string, value: string][];
  /** Bytes the head took, including the empty line: the body starts here. */
  size: number;
}

/** A head that breaks the rules; the message says which rule and where. */
export class MalformedHeadError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "MalformedHeadError";
  }
}

/** The most header bytes accepted before giving up. @default 64 KiB */
export const MAX_HEAD_BYTES = 64 * 1024;

const CRLFCRLF = [13, 10, 13, 10];
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Where the head ends (the index just past CRLFCRLF), or -1 if it has not
 * ended yet. A head ended by bare LFs is not found: strictness is the point.
 */
export function findHeadEnd(bytes: Uint8Array): number {
  outer: for (let i = 0; i + 4 <= bytes.length; i++) {
    for (let k = 0; k < 4; k++) {
      if (bytes[i + k] !== CRLFCRLF[k]) continue outer;
    }
    return i + 4;
  }
  return -1;
}

/**
 * Parses the head at the start of `bytes`. Returns `undefined` when more
 * bytes are needed; throws {@linkcode MalformedHeadError} when the bytes
 * cannot be a valid head (including a head over `maxBytes`, or one whose
 * lines end in LF alone).
 *
 * @example
 * ```ts
 * import { parseHead } from "./head.ts";
 * const head = parseHead(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
 * head?.startLine; // "HTTP/1.1 200 OK"
 * head?.size; // 38
 * ```
 */
export function parseHead(
  bytes: Uint8Array,
  maxBytes = MAX_HEAD_BYTES,
): MessageHead | undefined {
  const end = findHeadEnd(bytes.subarray(0, maxBytes + 4));
  if (end === -1) {
    const bareLf = bytes.subarray(0, maxBytes).findIndex((byte, i) => byte === 10 && bytes[i - 1] !== 13);
    if (bareLf !== -1) {
      throw new MalformedHeadError(
        `Line ends in LF without CR at byte ${bareLf}: HTTP lines end in CRLF (\\r\\n)`,
      );
    }
    if (bytes.length >= maxBytes) {
      throw new MalformedHeadError(`The head is longer than ${maxBytes} bytes`);
    }
    return undefined;
  }
  // latin1: header bytes are octets; a head is not UTF-8 text.
  const text = new TextDecoder("latin1").decode(bytes.subarray(0, end - 4));
  const lines = text.split("\r\n");
  lines.forEach((line, index) => {
    if (line.includes("\n")) {
      throw new MalformedHeadError(
        `Line ${index + 1} contains a bare LF: lines end in CRLF`,
      );
    }
    if (line.includes("\r")) {
      throw new MalformedHeadError(`Line ${index + 1} contains a bare CR`);
    }
  });
  const [startLine, ...fieldLines] = lines;
  const headers: [string, string][] = fieldLines.map((line, index) => {
    const colon = line.indexOf(":");
    const name = colon === -1 ? "" : line.slice(0, colon);
    if (colon === -1) {
      throw new MalformedHeadError(
        `Header line ${index + 2} has no colon: "${line}"`,
      );
    }
    if (!TOKEN.test(name)) {
      throw new MalformedHeadError(
        /\s$/.test(name)
          ? `Header "${name.trim()}" has whitespace before its colon`
          : `Header line ${index + 2} has an invalid name: "${name}"`,
      );
    }
    return [name, line.slice(colon + 1).trim()];
  });
  return { startLine, headers, size: end };
}

/** Every value of header `name` (case-insensitive), in order. */
export function headerValues(head: MessageHead, name: string): string[] {
  const wanted = name.toLowerCase();
  return head.headers.filter(([key]) => key.toLowerCase() === wanted).map((
    [, value],
  ) => value);
}

/** The value of header `name`, when it appears exactly once. */
export function headerValue(
  head: MessageHead,
  name: string,
): string | undefined {
  const values = headerValues(head, name);
  return values.length === 1 ? values[0] : undefined;
}
