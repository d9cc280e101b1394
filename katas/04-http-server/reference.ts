/**
 * Kata 4 — a minimal HTTP/1.1 server on a bare socket.
 *
 *   deno run --allow-net reference.ts [--port 8080] [--host 127.0.0.1]
 *   curl -v http://127.0.0.1:8080/
 *
 * The kata is the first half of this file: GET / answers 200, any other
 * path 404; every response carries Content-Type, Content-Length and
 * Connection: close, and the connection is closed after it. The lesson is
 * in readHead(): a request may arrive in any number of pieces, split
 * anywhere, so we read until the empty line that ends the head, never
 * assuming one read is one request. What does not parse gets a 400 at once.
 *
 * The second half ("Beyond the kata") is what RFC 9110 and RFC 9112 ask of
 * a real server: Host and field-value rules, absolute-form targets, exact
 * limits (414, 431, 413), Content-Length against Transfer-Encoding, HEAD,
 * 405 and 505, slow clients timed out, and a close in stages after every
 * answer, so that it reaches a client that may still be sending.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A running server. */
export interface HttpServer {
  readonly addr: Deno.NetAddr;
  /** Stops accepting, closes open connections, waits for the handlers. */
  close(): Promise<void>;
}

/**
 * The most bytes a request head may take (request line, header lines and
 * the empty line); real servers allow 8-16 KiB. Without a limit, a client
 * that never sends the empty line grows our buffer until we run out of memory.
 */
const MAX_HEAD_BYTES = 8 * 1024;

const encoder = new TextEncoder();
/** A head is octets, not UTF-8 text: latin1 maps each byte to one character. */
const latin1 = new TextDecoder("latin1");
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VERSION = /^HTTP\/(\d)\.(\d)$/;
const CR = 13;
const LF = 10;

/**
 * Starts the server; each connection is handled in its own task, so a slow
 * client never holds up the others.
 */
export function startServer(
  { hostname = "127.0.0.1", port = 8080 }: {
    hostname?: string;
    port?: number;
  } = {},
): HttpServer {
  const listener = Deno.listen({ hostname, port });
  // Every open connection, with its deadline (beyond the kata: see below).
  const connections = new Connections();
  // Not awaited: the loop goes straight back to accepting.
  const accepting = acceptLoop(listener, (conn) => handle(conn, connections));
  return {
    addr: listener.addr as Deno.NetAddr,
    async close() {
      listener.close();
      connections.closeAll();
      await accepting;
      await connections.drained();
    },
  };
}

/**
 * Accepts connections until the listener is closed. Not
 * `for await (const conn of listener)`: that loop ends with an exception
 * the first time accept() fails, and accept() fails in normal operation —
 * when a client resets before we pick its connection up, or when the
 * process has no file descriptor left for one more connection.
 */
async function acceptLoop(
  listener: Deno.TcpListener,
  serve: (conn: Deno.TcpConn) => void,
): Promise<void> {
  while (true) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      // close() closed the listener: the normal way out.
      if (error instanceof Deno.errors.BadResource) return;
      // The client gave up between its handshake and our accept
      // (ENOTCONN, ECONNABORTED): its loss, not ours.
      if (
        error instanceof Deno.errors.NotConnected ||
        error instanceof Deno.errors.ConnectionAborted ||
        error instanceof Deno.errors.ConnectionReset
      ) continue;
      // EMFILE/ENFILE: no descriptor for one more connection. The client
      // waits in the kernel's queue; we keep serving the connections we
      // have, and as they close they free descriptors. Pause so as not to
      // spin on an error that repeats, then try again.
      if (isOutOfDescriptors(error)) {
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      throw error;
    }
    serve(conn);
  }
}

/** An answer, before it becomes bytes. */
interface Answer {
  status: number;
  body: string;
  contentType?: string;
  headers?: [string, string][];
  /** HEAD: the headers a GET would get, and no body. */
  headOnly?: boolean;
}

/** A request that cannot be served: the answer says why. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: [string, string][] = [],
  ) {
    super(message);
  }
}

const badRequest = (why: string) => new HttpError(400, why);

interface Request {
  method: string;
  target: string;
  /** The path of the target, without the query. */
  path: string;
  major: number;
  minor: number;
  /** Lower-cased names; a name sent twice has two values. */
  headers: Map<string, string[]>;
}

async function handle(conn: Deno.TcpConn, connections: Connections): Promise<void> {
  // No setNoDelay here: each response is one write, then the connection
  // closes. Nagle only holds back a small segment while an earlier one is
  // unacknowledged, and there is no earlier one.
  const tracked = connections.add(conn);
  // Room for the whole head, MAX_HEAD_BYTES: `new Uint8Array(MAX_HEAD_BYTES)`
  // would do; readBuffers (beyond the kata) hands out one used before.
  const buffer = readBuffers.take();
  try {
    let answer: Answer;
    try {
      const headEnd = await readHead(conn, buffer);
      answer = route(parseRequest(latin1.decode(buffer.subarray(0, headEnd - 4))));
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      answer = { status: error.status, body: `${error.message}\n`, headers: error.headers };
    }
    // From here a new deadline bounds our write and the close in stages.
    connections.extend(tracked, LINGER_MS);
    await respond(conn, answer);
    // Beyond the kata: a client that may still be sending needs a close in
    // stages, or it may never see our answer (see closeInStages()). Even
    // one that said "close": it MUST NOT send more (§9.6), but if it does,
    // a plain close answers with a reset, which can destroy the answer
    // still in its buffer. The fuzzer sends exactly that.
    await closeInStages(conn);
  } catch (error) {
    // The client went away (reset, closed mid-request): nothing to answer.
    if (!isDisconnect(error)) console.error("http: connection failed:", error);
  } finally {
    connections.remove(tracked);
    closeQuietly(conn);
    readBuffers.give(buffer);
  }
}

/** GET / is the page; any other path is 404. */
function route(request: Request): Answer {
  if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed();
  const headOnly = request.method === "HEAD";
  if (request.path === "/") return headOnly ? { ...PAGE_ANSWER, headOnly } : PAGE_ANSWER;
  return { status: 404, body: `Not found: ${request.path}\n`, headOnly };
}

const PAGE = "<!doctype html>\n<title>netkata</title>\n<p>Hello from Kata 4.</p>\n";
const PAGE_ANSWER: Answer = { status: 200, contentType: "text/html; charset=utf-8", body: PAGE };

/**
 * Reads bytes into `buffer` until the empty line that ends the head. One
 * read may hold half a request line, or a request and a half: keep reading
 * into the free part of the buffer, and look again at what is new. The
 * buffer holds MAX_HEAD_BYTES: once it is full without an end, the head is
 * too large. Returns where the head ends: just past its CRLF CRLF (what
 * came in after it is a body or the next request, and stays unread).
 */
async function readHead(conn: Deno.TcpConn, buffer: Uint8Array): Promise<number> {
  let received = 0;
  let scanned = 0;
  while (true) {
    const found = scanHead(buffer.subarray(0, received), scanned);
    if (found.end !== -1) return found.end;
    if (received === buffer.length) throw headTooLarge(buffer);
    scanned = found.scanned;
    const n = await conn.read(buffer.subarray(received));
    if (n === null) {
      throw new Deno.errors.UnexpectedEof("the client closed before the end of the head");
    }
    received += n;
  }
}

/**
 * Looks through `bytes` from `from` on for the CRLF CRLF that ends the
 * head. Returns the index just past it (or -1) and how far it looked.
 * A LF without a CR before it, or a CR without a LF after it, is a 400 at
 * once: waiting for a CRLF CRLF that a bare-LF client will never send is
 * how a server hangs until its timeout.
 */
function scanHead(bytes: Uint8Array, from: number): { end: number; scanned: number } {
  for (let i = from; i < bytes.length; i++) {
    if (bytes[i] === CR) {
      if (i + 1 === bytes.length) return { end: -1, scanned: i }; // its LF may be in the next read
      if (bytes[i + 1] !== LF) throw badRequest("A CR must be followed by LF");
    } else if (bytes[i] === LF) {
      if (bytes[i - 1] !== CR) throw badRequest("Lines must end in CRLF, not a bare LF");
      if (bytes[i - 2] === LF && bytes[i - 3] === CR) return { end: i + 1, scanned: i + 1 };
    }
  }
  return { end: -1, scanned: bytes.length };
}

/** RFC 9112 §3 and §5, strictly: anything ambiguous is a 400. */
function parseRequest(head: string): Request {
  const lines = head.split("\r\n");
  const parts = lines[0].split(" ");
  if (parts.length !== 3) throw badRequest("Malformed request line");
  const [method, target, version] = parts;
  if (!TOKEN.test(method)) throw badRequest("Malformed method");
  const versionMatch = VERSION.exec(version);
  if (!versionMatch) throw badRequest("Malformed HTTP version");
  const major = Number(versionMatch[1]);
  const minor = Number(versionMatch[2]);
  const headers = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    const name = line.slice(0, Math.max(colon, 0));
    // "Host : x" is rejected: whitespace before the colon has been used to
    // smuggle requests past proxies (RFC 9112 §5.1). So is a line that
    // starts with whitespace: the obsolete folding of a long value (§5.2).
    if (colon <= 0 || !TOKEN.test(name)) throw badRequest("Malformed header line");
    const key = name.toLowerCase();
    const values = headers.get(key);
    if (values) values.push(line.slice(colon + 1));
    else headers.set(key, [line.slice(colon + 1)]);
  }
  // Exactly one Host in HTTP/1.1 (RFC 9112 §3.2), and never two in any
  // version: which one would we believe?
  const hosts = headers.get("host") ?? [];
  if (hosts.length > 1 || (hosts.length === 0 && major === 1 && minor >= 1)) {
    throw badRequest("A request needs exactly one Host header");
  }
  checkRfc9112(major, headers); // beyond the kata: see below
  return { method, target, path: requestPath(method, target), major, minor, headers };
}

/** Writes a complete answer in one write: fewer segments, and no Nagle pause between head and body. */
function respond(conn: Deno.TcpConn, answer: Answer): Promise<void> {
  return writeAll(conn, answer === PAGE_ANSWER ? pageBytes() : encodeAnswer(answer));
}

function encodeAnswer(answer: Answer): Uint8Array {
  // Content-Length counts bytes, not characters ("é" is two bytes in UTF-8).
  const body = encoder.encode(answer.body);
  const head = [
    `HTTP/1.1 ${answer.status} ${REASONS[answer.status]}`,
    `Date: ${httpDate()}`,
    `Content-Type: ${answer.contentType ?? "text/plain; charset=utf-8"}`,
    `Content-Length: ${body.length}`,
    `Connection: close`,
    ...(answer.headers ?? []).map(([name, value]) => `${name}: ${value}`),
  ].join("\r\n") + "\r\n\r\n";
  return answer.headOnly ? encoder.encode(head) : concat(encoder.encode(head), body);
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  414: "URI Too Long",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  505: "HTTP Version Not Supported",
};

/** A write may write fewer bytes than given: loop until all are out. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.BadResource || // closed by a deadline or by close()
    error instanceof Deno.errors.Interrupted;
}

function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch {
    // Closed already.
  }
}

// ─── Beyond the kata: what RFC 9110 and RFC 9112 ask of a real server ──────

/**
 * A client gets this long to send its whole head. Without a deadline a
 * client that sends one byte a minute (slowloris) holds a connection for
 * ever; enough of them and nobody else is served.
 */
const REQUEST_TIMEOUT_MS = 10_000;
/** How long we go on reading (and discarding) after our answer; see closeInStages(). */
const LINGER_MS = 5_000;
/** The largest request body we let a client send; we never need a body, so a bigger one is a 413. */
const MAX_BODY_BYTES = 1024 * 1024;
/** How long the accept loop pauses when the process is out of file descriptors. */
const ACCEPT_RETRY_MS = 100;

/** RFC 3986 host [":" port]: what a Host header (and the authority of a URL) may hold. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]*)?$/;
/** RFC 3986 path and query: the characters a URI may hold there, with %HH escapes. */
const PATH_AND_QUERY = /^\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$/;
/** A Content-Length: digits only, no sign, no space. */
const DIGITS = /^\d+$/;
/** The absolute form of a target, "http://host/path?query": its host, and the rest. */
const ABSOLUTE_FORM = /^https?:\/\/([^/?]*)(.*)$/i;

/** The checks the kata does not ask for and RFC 9110/9112 do; trims the header values. */
function checkRfc9112(major: number, headers: Map<string, string[]>): void {
  // §2.5 of RFC 9110: we speak HTTP/1.x; other major versions get a 505.
  if (major !== 1) throw new HttpError(505, "Only HTTP/1.x is supported");
  for (const [name, values] of headers) {
    for (let i = 0; i < values.length; i++) {
      // RFC 9110 §5.5: NUL and other control characters (HTAB aside) make a
      // field value invalid. Checked before trimming: a value may end in one.
      if (hasControlCharacter(values[i])) throw badRequest(`Control character in the ${name} header`);
      values[i] = trimWhitespace(values[i]);
    }
  }
  // §3.2: a Host that is not host[:port] ("a b", "user@host") is a 400.
  const host = headers.get("host")?.[0];
  if (host !== undefined && !HOST.test(host)) throw badRequest("Invalid Host header");
  checkFraming(headers);
}

/**
 * The path a target asks for (RFC 9112 §3.2). Browsers and curl send the
 * origin-form, "/path?query"; a server must also accept the absolute-form,
 * "http://host/path?query", which clients send to proxies, and then ignore
 * the Host header. "*" is for OPTIONS only. Anything else, or a character a
 * URI may not hold, is a 400.
 */
function requestPath(method: string, target: string): string {
  if (target === "*" && method === "OPTIONS") return "*";
  let pathAndQuery = target;
  const absolute = target.startsWith("/") ? null : ABSOLUTE_FORM.exec(target);
  if (absolute) {
    if (!HOST.test(absolute[1])) throw badRequest("Invalid host in the request target");
    pathAndQuery = absolute[2].startsWith("/") ? absolute[2] : `/${absolute[2]}`;
  }
  if (!PATH_AND_QUERY.test(pathAndQuery)) {
    throw badRequest("The request target must be a path or an http URL, in the characters a URI may hold");
  }
  const query = pathAndQuery.indexOf("?");
  return query === -1 ? pathAndQuery : pathAndQuery.slice(0, query);
}

/**
 * How long the body is (RFC 9112 §6). We answer without reading it and
 * close after the answer, so its length only decides whether it is valid
 * and whether it is too large; closeInStages() reads and discards it.
 */
function checkFraming(headers: Map<string, string[]>): void {
  const codings = headers.get("transfer-encoding");
  const lengths = headers.get("content-length");
  if (codings) {
    // Both: which one ends the body? Two servers that disagree are how
    // requests are smuggled past proxies (§6.3, §11.2).
    if (lengths) throw badRequest("Both Content-Length and Transfer-Encoding");
    const list = codings.join(",").split(",").map((coding) => trimWhitespace(coding).toLowerCase()).filter(Boolean);
    // Without chunked last, the body only ends when the client closes: a 400 (§6.3).
    if (list.at(-1) !== "chunked") throw badRequest("Transfer-Encoding must end in chunked");
    if (list.length > 1) throw new HttpError(501, "Only the chunked transfer coding is supported");
    return;
  }
  if (!lengths) return;
  if (!lengths.every((value) => DIGITS.test(value) && value === lengths[0])) {
    throw badRequest("Invalid Content-Length");
  }
  if (Number(lengths[0]) > MAX_BODY_BYTES) throw new HttpError(413, "Request body too large");
}

/** A byte below 0x20 other than HTAB, or DEL. */
function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

/**
 * The whitespace around a value is not part of it (RFC 9112 §5.1): SP and
 * HTAB only. String.trim() would also strip bytes that are part of it.
 */
function trimWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isWhitespace(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

const isWhitespace = (code: number) => code === 0x20 || code === 0x09;

/** RFC 9110 §15.5.6: a 405 says which methods would work. */
function methodNotAllowed(): Answer {
  return { status: 405, body: "Only GET and HEAD are allowed\n", headers: [["Allow", "GET, HEAD"]] };
}

/**
 * A head over the limit. If even the request line does not fit, the target
 * is what is too long (414); otherwise the header fields are (431).
 */
function headTooLarge(buffer: Uint8Array): HttpError {
  const lineEnd = buffer.indexOf(LF);
  return lineEnd === -1
    ? new HttpError(414, "Request target too long")
    : new HttpError(431, "Request header fields too large");
}

/**
 * Closes in stages, as RFC 9112 §9.6 describes. Closing a socket that still
 * has unread input (a body we did not read, a second request) makes the
 * kernel send RST instead of FIN, and the RST can reach the client before
 * it has read our answer: curl, still sending its body, then reports
 * "Broken pipe" instead of our 413. So: shut our side (FIN: the answer is
 * complete), read and throw away whatever still comes until the client
 * closes or the deadline set in handle() passes, then close.
 */
async function closeInStages(conn: Deno.TcpConn): Promise<void> {
  await conn.closeWrite();
  while (await conn.read(DISCARD) !== null) {
    // Thrown away.
  }
}

/**
 * Where closeInStages() throws bytes away: one buffer for every connection,
 * since nobody reads what lands in it. A buffer per connection would be
 * 16 KiB of garbage per request, freed only by a full garbage collection:
 * under load that was 30 MiB of the server's memory.
 */
const DISCARD = new Uint8Array(16 * 1024);

/**
 * The buffers that request heads are read into, kept for the next
 * connection instead of being dropped: an ArrayBuffer's memory lives
 * outside the JavaScript heap, and allocating, zeroing and freeing 8 KiB
 * per request cost more than the rest of the parsing. A buffer is in one
 * connection's hands at a time: two reads in flight into one buffer would
 * write over each other.
 */
const readBuffers = {
  free: [] as Uint8Array[],
  take(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(MAX_HEAD_BYTES);
  },
  give(buffer: Uint8Array): void {
    // Enough for a busy moment; beyond that, let the garbage collector have them.
    if (this.free.length < 1024) this.free.push(buffer);
  },
};

/** Too slow to send its head: say so (408), then hang up. */
function timeOut(conn: Deno.TcpConn): void {
  // If even this write blocks, closing the connection unblocks everything.
  respond(conn, { status: 408, body: "Request timeout\n" }).catch(() => {}).finally(() => closeQuietly(conn));
}

/** One open connection, and what happens to it when its deadline passes. */
interface Tracked {
  /**
   * Held weakly: measured, not guessed. With the connection itself in this
   * long-lived set, each minor garbage collection under load took about
   * 2.5 ms instead of 0.2 (`--v8-flags=--trace-gc`), and V8 grew its young
   * generation to the maximum (see the card's memory notes). The connection stays alive all
   * the same while its handler waits on it; one that nothing else holds
   * has no handler left to serve, and nothing to close.
   */
  readonly conn: WeakRef<Deno.TcpConn>;
  /** Date.now() past which it has overstayed. */
  due: number;
  /** Still reading its head: a 408. Past that (answered, lingering): a plain close. */
  answered: boolean;
}

/**
 * The open connections and their deadlines, in one set: close() closes
 * them all, and one sweep a second enforces every deadline, which is
 * cheaper than a timer per connection (a server must expect many). A
 * connection costs one small record that handle() updates in place: no
 * closure, no promise and no map entry of its own.
 */
class Connections {
  #open = new Set<Tracked>();
  #sweeper = setInterval(() => this.#sweep(), 1_000);
  #closing = false;
  #drained?: PromiseWithResolvers<void>;

  /** Tracks a new connection: it has REQUEST_TIMEOUT_MS to send its head. */
  add(conn: Deno.TcpConn): Tracked {
    const tracked = { conn: new WeakRef(conn), due: Date.now() + REQUEST_TIMEOUT_MS, answered: false };
    this.#open.add(tracked);
    // Accepted just as the server closed: its handler ends at its first read.
    if (this.#closing) closeQuietly(conn);
    return tracked;
  }

  /** Answered: `ms` more to write the answer and close, then a plain close. */
  extend(tracked: Tracked, ms: number): void {
    tracked.due = Date.now() + ms;
    tracked.answered = true;
  }

  remove(tracked: Tracked): void {
    this.#open.delete(tracked);
    if (this.#open.size === 0) this.#drained?.resolve();
  }

  /** Stops the sweep and closes every connection: their handlers then end. */
  closeAll(): void {
    this.#closing = true;
    clearInterval(this.#sweeper);
    for (const { conn } of this.#open) closeQuietly(conn.deref());
  }

  /** Resolves once every handler has removed its connection. */
  drained(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve();
    this.#drained ??= Promise.withResolvers();
    return this.#drained.promise;
  }

  #sweep(): void {
    const now = Date.now();
    for (const tracked of this.#open) {
      if (tracked.due > now) continue;
      // Not again: the handler removes it once the connection is closed.
      tracked.due = Infinity;
      const conn = tracked.conn.deref();
      if (!conn) continue;
      if (tracked.answered) closeQuietly(conn);
      else timeOut(conn);
    }
  }
}

/** EMFILE (this process) or ENFILE (the whole system): out of file descriptors. */
function isOutOfDescriptors(error: unknown): boolean {
  return error instanceof Error && "code" in error && (error.code === "EMFILE" || error.code === "ENFILE");
}

/**
 * The Date header (RFC 9110 §6.6.1: an origin server with a clock sends
 * one). It changes once a second, so it is formatted once a second.
 */
let dateSecond = 0;
let dateText = "";
function httpDate(): string {
  const now = Date.now();
  if (Math.floor(now / 1000) !== dateSecond) {
    dateSecond = Math.floor(now / 1000);
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/**
 * The page's answer in bytes. Only its Date changes, once a second: encode
 * it then, not for every request.
 */
let pageDate = "";
let pageEncoded: Uint8Array = new Uint8Array(0);
function pageBytes(): Uint8Array {
  if (httpDate() !== pageDate) {
    pageDate = httpDate();
    pageEncoded = encodeAnswer(PAGE_ANSWER);
  }
  return pageEncoded;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8080" },
      host: { type: "string", default: "127.0.0.1" },
    },
  });
  const port = Number(values.port);
  try {
    const server = startServer({ hostname: values.host, port });
    console.log(
      `HTTP server listening on http://${server.addr.hostname}:${server.addr.port}/`,
    );
    // Ctrl-C: stop accepting, let the connections finish, then exit. Asking
    // for the signal at start matters too: Deno sets its signal handling up
    // the first time anything asks (Deno itself does, soon after start), and
    // that takes a file descriptor. Out of descriptors by then, the server
    // would die (Deno 2.9 panics) instead of backing off.
    Deno.addSignalListener("SIGINT", async () => {
      await server.close();
      Deno.exit(130);
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      console.error(
        `Port ${port} is already in use: stop the other server or pass --port`,
      );
      Deno.exit(1);
    }
    throw error;
  }
}
