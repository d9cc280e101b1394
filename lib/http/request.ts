/**
 * A judge of request heads for fuzzing and checking servers: is this head
 * one that RFC 9112 forbids a server to accept, however lenient the server?
 *
 * The RFC lets a server choose between strictness and robustness in several
 * places: it may take a bare LF as a line end (§2.2), replace a bare CR, or
 * a NUL in a field value, with a space (§2.2; RFC 9110 §5.5), unfold an
 * obs-fold (§5.2), skip empty lines before the request line and lines of
 * whitespace before the first field (§2.2), split the request line on any
 * whitespace (§3). This module reads a head the most lenient way the RFC
 * allows; a head that is still invalid then is one no server may answer
 * with a 2xx. A strict server (like the Kata 4 reference) rejects more, and
 * is right to.
 *
 * @module
 */

/** What {@linkcode classifyRequestHead} decided. */
export type RequestVerdict =
  /** No empty line yet: the head may go on. */
  | { kind: "incomplete" }
  /** Invalid however leniently read: a server must not answer 2xx. */
  | { kind: "invalid"; reason: string }
  /** Some conforming server may accept it. */
  | { kind: "acceptable"; method: string; target: string; version: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 3986 characters allowed in a path and query: pchar, "/" and "?", with %HH. */
const PATH_AND_QUERY = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;
/** RFC 3986 absolute-URI: scheme ":" hier-part [ "?" query ], no fragment. */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+\-.]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?[\]]|%[0-9A-Fa-f]{2})*$/;
/** RFC 3986 host [":" port] (RFC 9112 §3.2's Host, and the authority-form). */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;
/** What a lenient recipient may treat as the request line's separator (RFC 9112 §3). */
const LINE_WHITESPACE = /[ \t\v\f\r]+/;
const OUTER_LINE_WHITESPACE = /^[ \t\v\f\r]+|[ \t\v\f\r]+$/g;

/**
 * Judges the request head at the start of `bytes` (octets; anything after
 * the head, such as a body or a second request, is ignored).
 *
 * @example
 * ```ts
 * import { classifyRequestHead } from "./request.ts";
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\nHost : a\r\n\r\n");
 * classifyRequestHead(bytes); // { kind: "invalid", reason: "Whitespace before the colon of \"Host\"" }
 * ```
 */
export function classifyRequestHead(bytes: Uint8Array): RequestVerdict {
  const lines = lenientLines(bytes);
  if (!lines) return { kind: "incomplete" };
  const invalid = (reason: string): RequestVerdict => ({ kind: "invalid", reason });

  const words = lines[0].replace(OUTER_LINE_WHITESPACE, "").split(LINE_WHITESPACE);
  if (words.length !== 3) return invalid(`The request line has ${words.length} words, not 3`);
  const [method, target, version] = words;
  if (!TOKEN.test(method)) return invalid(`The method is not a token: ${JSON.stringify(method)}`);
  const versionMatch = /^HTTP\/(\d)\.(\d)$/.exec(version);
  if (!versionMatch) return invalid(`The version is not HTTP/<digit>.<digit>: ${JSON.stringify(version)}`);
  const targetProblem = checkTarget(method, target);
  if (targetProblem) return invalid(targetProblem);

  const fields: [name: string, value: string][] = [];
  let firstField = true;
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line)) {
      // Whitespace before the first field: the line may be skipped (§2.2).
      // Later, it is an obs-fold: the line continues the previous value (§5.2).
      if (!firstField) fields[fields.length - 1][1] += ` ${line}`;
      continue;
    }
    firstField = false;
    const colon = line.indexOf(":");
    if (colon === -1) return invalid(`A field line has no colon: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    if (/[ \t]$/.test(name) && TOKEN.test(name.trimEnd())) {
      return invalid(`Whitespace before the colon of ${JSON.stringify(name.trimEnd())}`);
    }
    if (!TOKEN.test(name)) return invalid(`The field name is not a token: ${JSON.stringify(name)}`);
    fields.push([name.toLowerCase(), line.slice(colon + 1)]);
  }
  // NUL, CR and LF in a value may be replaced by SP (RFC 9110 §5.5); then
  // leading and trailing SP and HTAB are not part of the value.
  const values = (name: string) =>
    fields.filter(([key]) => key === name).map(([, value]) =>
      value.replace(/[\0\r\n]/g, " ").replace(/^[ \t]+|[ \t]+$/g, "")
    );

  const hosts = values("host");
  if (hosts.length > 1) return invalid(`${hosts.length} Host fields; there must be at most one`);
  if (versionMatch[1] === "1" && versionMatch[2] !== "0" && hosts.length === 0) {
    return invalid(`An HTTP/1.${versionMatch[2]} request without Host`);
  }
  if (hosts.length === 1 && !HOST.test(hosts[0])) {
    return invalid(`Host is not host[:port]: ${JSON.stringify(hosts[0])}`);
  }

  // Lists: empty elements are ignored (RFC 9110 §5.6.1).
  const list = (name: string) =>
    values(name).flatMap((value) => value.split(",")).map((item) => item.replace(/^[ \t]+|[ \t]+$/g, ""))
      .filter(Boolean);
  if (values("transfer-encoding").length > 0) {
    // §6.3: the request's length cannot be known unless chunked comes last.
    if (list("transfer-encoding").at(-1)?.toLowerCase() !== "chunked") {
      return invalid("Transfer-Encoding does not end in chunked");
    }
  } else if (values("content-length").length > 0) {
    // Transfer-Encoding, where present, overrides Content-Length (§6.3).
    const lengths = list("content-length");
    if (lengths.length === 0 || lengths.some((length) => !/^\d+$/.test(length))) {
      return invalid("Content-Length is not a number");
    }
    if (new Set(lengths.map((length) => BigInt(length))).size > 1) {
      return invalid("Content-Length has different values");
    }
  }
  return { kind: "acceptable", method, target, version };
}

/**
 * The head's lines, read as leniently as RFC 9112 §2.2 allows: LF ends a
 * line (a CR before it is dropped), a bare CR is a space, empty lines before
 * the request line are skipped. `undefined` until the empty line arrives.
 */
function lenientLines(bytes: Uint8Array): string[] | undefined {
  const text = new TextDecoder("latin1").decode(bytes);
  const lines: string[] = [];
  let start = 0;
  for (let lf = text.indexOf("\n"); lf !== -1; lf = text.indexOf("\n", start)) {
    const line = text.slice(start, text[lf - 1] === "\r" && lf > start ? lf - 1 : lf).replaceAll("\r", " ");
    start = lf + 1;
    if (line === "") {
      if (lines.length === 0) continue; // an empty line before the request line
      return lines;
    }
    lines.push(line);
  }
  return undefined;
}

/** Why `target` is not a request-target that `method` may use (RFC 9112 §3.2), or undefined. */
function checkTarget(method: string, target: string): string | undefined {
  if (target.startsWith("/")) {
    return PATH_AND_QUERY.test(target)
      ? undefined
      : `The target has characters a URI may not: ${JSON.stringify(target)}`;
  }
  if (target === "*") return method === "OPTIONS" ? undefined : "The asterisk-form target is for OPTIONS only";
  if (method === "CONNECT") return HOST.test(target) ? undefined : `The CONNECT target is not host:port`;
  return ABSOLUTE_URI.test(target)
    ? undefined
    : `The target is neither a path nor an absolute URI: ${JSON.stringify(target)}`;
}
