/**
 * Kata 4 — a minimal HTTP/1.1 server on a bare socket.
 *
 *   deno run --allow-net reference.ts [--port 8080] [--host 127.0.0.1]
 *   curl -v http://127.0.0.1:8080/
 *
 * GET / answers 200, any other path 404; every response carries
 * Content-Type, Content-Length and Connection: close, and the connection is
 * closed after it. The lesson is in readRequestHead(): a request may arrive
 * in any number of pieces, split anywhere, so we read until the empty line
 * that ends the head, never assuming one read is one request.
 *
 * Beyond the kata, it behaves as RFC 9110/9112 ask of a real server: HEAD,
 * 405 with Allow, 400 for malformed input, 431 for huge heads, 505 for
 * other HTTP versions, request bodies drained, slow clients timed out.
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

/** The most header bytes we accept; real servers use 8-16 KiB. */
const MAX_HEAD_BYTES = 8 * 1024;
/** The largest request body we are willing to read (and throw away). */
const MAX_BODY_BYTES = 1024 * 1024;
/**
 * A client gets this long to send its whole request (checked once a
 * second). Without a deadline a client that sends one byte a minute
 * (slowloris) holds a connection for ever; enough of them and nobody else
 * is served.
 */
const REQUEST_TIMEOUT_MS = 10_000;

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

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
  const open = new Set<Deno.TcpConn>();
  const handlers = new Set<Promise<void>>();
  const waiting: Waiting = new Map();
  const sweeper = setInterval(() => sweep(waiting), 1_000);
  const accepting = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      const handler = handle(conn, waiting).finally(() => {
        open.delete(conn);
        handlers.delete(handler);
      });
      handlers.add(handler);
    }
  })();
  return {
    addr: listener.addr as Deno.NetAddr,
    async close() {
      clearInterval(sweeper);
      listener.close();
      for (const conn of open) closeQuietly(conn);
      await accepting;
      await Promise.all(handlers);
    },
  };
}

/** An answer that ends the request: a status and a short explanation. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: [string, string][] = [],
  ) {
    super(message);
  }
}

interface Request {
  method: string;
  target: string;
  version: string;
  headers: Map<string, string[]>;
}

/**
 * Connections still sending their request, and when their time is up. One
 * sweep a second times them out: cheaper than a timer per request, and a
 * server must expect many connections.
 */
type Waiting = Map<Deno.TcpConn, number>;

function sweep(waiting: Waiting): void {
  const now = Date.now();
  for (const [conn, deadline] of waiting) {
    if (deadline > now) continue;
    waiting.delete(conn);
    // Too slow: say so (408), then hang up. If even that write blocks,
    // closing the connection unblocks everything.
    respond(conn, 408, "text/plain", "Request timeout\n", [], false).catch(() => {}).finally(() => closeQuietly(conn));
  }
}

async function handle(conn: Deno.TcpConn, waiting: Waiting): Promise<void> {
  // No setNoDelay here: each response is one write, then the connection
  // closes. Nagle only holds back a small segment while an earlier one is
  // unacknowledged, and there is no earlier one.
  waiting.set(conn, Date.now() + REQUEST_TIMEOUT_MS);
  try {
    let request: Request;
    let rest: Uint8Array;
    try {
      [request, rest] = await readRequest(conn);
      await drainBody(conn, request, rest);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      waiting.delete(conn);
      await respond(conn, error.status, "text/plain", `${error.message}\n`, error.headers, false);
      return;
    }
    waiting.delete(conn);
    await route(conn, request);
  } catch (error) {
    // The client went away (reset, closed mid-request): nothing to answer.
    if (!isDisconnect(error)) console.error("http: connection failed:", error);
  } finally {
    waiting.delete(conn);
    closeQuietly(conn);
  }
}

/** GET / is the page; any other path is 404; other methods are 405. */
async function route(conn: Deno.TcpConn, request: Request): Promise<void> {
  const head = request.method === "HEAD";
  if (request.method !== "GET" && !head) {
    const allow: [string, string][] = [["Allow", "GET, HEAD"]];
    await respond(
      conn,
      405,
      "text/plain",
      "Only GET and HEAD are allowed\n",
      allow,
      false,
    );
    return;
  }
  const path = request.target.split("?")[0];
  if (path === "/") {
    await respond(conn, 200, "text/html; charset=utf-8", PAGE, [], head);
  } else {
    await respond(
      conn,
      404,
      "text/plain; charset=utf-8",
      `Not found: ${path}\n`,
      [],
      head,
    );
  }
}

const PAGE = "<!doctype html>\n<title>netkata</title>\n<p>Hello from Kata 4.</p>\n";

/**
 * Reads bytes until the empty line that ends the head. One read may hold
 * half a request line, or a request and a half: keep what came after the
 * head (the start of the body) and hand it back.
 */
async function readRequest(conn: Deno.TcpConn): Promise<[Request, Uint8Array]> {
  let buffer: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  while (true) {
    const end = indexOfBlankLine(buffer);
    if (end !== -1) {
      return [parseHead(buffer.subarray(0, end)), buffer.subarray(end + 4)];
    }
    if (buffer.length > MAX_HEAD_BYTES) {
      throw new HttpError(431, "Request header fields too large");
    }
    const n = await conn.read(chunk);
    if (n === null) {
      throw new Deno.errors.UnexpectedEof(
        "the client closed before the end of the head",
      );
    }
    // Usually the whole head comes in the first read: no copy then.
    buffer = buffer.length === 0 ? chunk.slice(0, n) : concat(buffer, chunk.subarray(0, n));
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** RFC 9112 §3 and §5, strictly: anything ambiguous is a 400. */
function parseHead(bytes: Uint8Array): Request {
  // latin1: a head is octets. A bare CR or LF inside a line is malformed.
  const lines = latin1.decode(bytes).split("\r\n");
  if (lines.some((line) => /[\r\n]/.test(line))) {
    throw new HttpError(400, "Lines must end in CRLF");
  }
  const parts = lines[0].split(" ");
  if (parts.length !== 3) throw new HttpError(400, "Malformed request line");
  const [method, target, version] = parts;
  if (!TOKEN.test(method)) throw new HttpError(400, "Malformed method");
  const versionMatch = /^HTTP\/(\d)\.(\d)$/.exec(version);
  if (!versionMatch) throw new HttpError(400, "Malformed HTTP version");
  if (versionMatch[1] !== "1") {
    throw new HttpError(505, "Only HTTP/1.x is supported");
  }
  if (!target.startsWith("/")) {
    throw new HttpError(400, "The request target must be a path");
  }
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line)) {
      throw new HttpError(400, "Folded header lines are not allowed");
    }
    const colon = line.indexOf(":");
    const name = line.slice(0, Math.max(colon, 0));
    // "Host : x" is rejected: whitespace before the colon has been used to
    // smuggle requests past proxies (RFC 9112 §5.1).
    if (colon <= 0 || !TOKEN.test(name)) {
      throw new HttpError(400, `Malformed header line`);
    }
    const key = name.toLowerCase();
    headers.set(key, [...headers.get(key) ?? [], line.slice(colon + 1).trim()]);
  }
  if (version === "HTTP/1.1" && headers.get("host")?.length !== 1) {
    throw new HttpError(400, "HTTP/1.1 requests need exactly one Host header");
  }
  return { method, target, version, headers };
}

/**
 * Reads and discards the request body. We answer with Connection: close,
 * but closing a socket with unread input makes the kernel send RST, which
 * can destroy our response before the client reads it. So the body is
 * read, up to a limit.
 */
async function drainBody(
  conn: Deno.TcpConn,
  request: Request,
  already: Uint8Array,
): Promise<void> {
  const lengths = request.headers.get("content-length");
  if (request.headers.has("transfer-encoding")) {
    if (lengths) {
      throw new HttpError(400, "Both Content-Length and Transfer-Encoding");
    }
    throw new HttpError(501, "Transfer-Encoding is not supported");
  }
  if (!lengths) return;
  if (!lengths.every((value) => /^\d+$/.test(value) && value === lengths[0])) {
    throw new HttpError(400, "Invalid Content-Length");
  }
  const length = Number(lengths[0]);
  if (length > MAX_BODY_BYTES) {
    throw new HttpError(413, "Request body too large");
  }
  let remaining = length - already.length;
  const chunk = new Uint8Array(16 * 1024);
  while (remaining > 0) {
    const n = await conn.read(
      chunk.subarray(0, Math.min(chunk.length, remaining)),
    );
    if (n === null) {
      throw new Deno.errors.UnexpectedEof(
        "the client closed before the end of the body",
      );
    }
    remaining -= n;
  }
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  505: "HTTP Version Not Supported",
};

/**
 * Writes a complete response. Content-Length counts bytes, not characters
 * ("é" is two bytes in UTF-8). A HEAD response has the same headers as the
 * GET would, but no body.
 */
async function respond(
  conn: Deno.TcpConn,
  status: number,
  contentType: string,
  body: string,
  extra: [string, string][],
  headOnly: boolean,
): Promise<void> {
  const bodyBytes = encoder.encode(body);
  const head = [
    `HTTP/1.1 ${status} ${REASONS[status]}`,
    `Date: ${httpDate()}`,
    `Content-Type: ${contentType}`,
    `Content-Length: ${bodyBytes.length}`,
    `Connection: close`,
    ...extra.map(([name, value]) => `${name}: ${value}`),
  ].join("\r\n") + "\r\n\r\n";
  // One write for head and body: fewer segments, and no Nagle pause between them.
  await writeAll(
    conn,
    headOnly ? encoder.encode(head) : concat(encoder.encode(head), bodyBytes),
  );
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

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (
      bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 &&
      bytes[i + 3] === 10
    ) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** A write may write fewer bytes than given: loop until all are out. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.BadResource || // closed by the deadline or by close()
    error instanceof Deno.errors.Interrupted;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
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
