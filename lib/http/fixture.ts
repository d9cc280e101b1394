/**
 * The HTTP server a client kata is graded against. Each path is a case,
 * from the plain (`/ok`) to the awkward (`/dribble`, `/keep-open`,
 * `/premature`). It records every request it receives, so a checker can also
 * judge what the client sent.
 *
 * @module
 */

import { findHeadEnd, MAX_HEAD_BYTES } from "./head.ts";
import { acceptConnections } from "../net/accept.ts";
import { writeAll } from "../net/io.ts";

/** One request as it arrived. */
export interface RecordedRequest {
  /** The head's bytes exactly as sent, up to and including the empty line. */
  raw: Uint8Array;
  /** The request target from the request line ("/ok"), or "" if unreadable. */
  target: string;
  /** The address the client connected to: "127.0.0.1", or "::1". */
  local: string;
}

/** How a case answers. */
interface Reply {
  /** The whole response, head and body. */
  bytes: Uint8Array;
  /** What a correct client prints: status line, LF, body. Undefined for error cases. */
  expected?: Uint8Array;
  /** Send one byte at a time. */
  dribble?: boolean;
  /** Do not close after the response: only Content-Length says where it ends. */
  keepOpen?: boolean;
}

const encoder = new TextEncoder();

function concat(...parts: (string | Uint8Array)[]): Uint8Array {
  const bytes = parts.map((part) => typeof part === "string" ? encoder.encode(part) : part);
  const all = new Uint8Array(bytes.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of bytes) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}

/** A body that is the same on every run, so a failure can be reproduced. */
function deterministicBody(length: number): Uint8Array {
  const body = new Uint8Array(length);
  let x = 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    body[i] = x & 0xff;
  }
  return body;
}

function response(
  statusLine: string,
  headers: string[],
  body: Uint8Array | string,
): Reply {
  const bodyBytes = typeof body === "string" ? encoder.encode(body) : body;
  return {
    bytes: concat(
      `${statusLine}\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`,
      bodyBytes,
    ),
    expected: concat(`${statusLine}\n`, bodyBytes),
  };
}

const LARGE = deterministicBody(5 * 1024 * 1024);

/**
 * Content-Length: 11, then more bytes in the same write, on a connection
 * left open: only Content-Length says where the body ends, and a client
 * that prints what it read, or reads until the server closes, is wrong.
 */
function pastTheBody(): Reply {
  const correct = response("HTTP/1.1 200 OK", ["Content-Length: 11", "Content-Type: text/plain"], "exactly 11\n");
  return {
    bytes: concat(correct.bytes, "BYTES PAST CONTENT-LENGTH: not part of this body\n"),
    expected: correct.expected,
    keepOpen: true,
  };
}

/** The cases, by path. `port` is where the fixture listens (for Location). */
function replies(port: number): Record<string, Reply> {
  const page = "Hello from the netkata fixture.\n";
  const plain = (body: string | Uint8Array) => [
    "Content-Type: text/plain",
    `Content-Length: ${typeof body === "string" ? encoder.encode(body).length : body.length}`,
    "Connection: close",
  ];
  const continueThenOk = response("HTTP/1.1 200 OK", plain(page), page);
  const missingBody = "Content-Length says 1000, but only this much arrives";
  return {
    "/ok": response("HTTP/1.1 200 OK", plain(page), page),
    "/moved": response(
      "HTTP/1.1 301 Moved Permanently",
      [`Location: http://localhost:${port}/elsewhere`, ...plain("Moved.\n")],
      "Moved.\n",
    ),
    "/missing": response(
      "HTTP/1.1 404 Not Found",
      plain("No such page.\n"),
      "No such page.\n",
    ),
    "/keep-open": {
      ...response("HTTP/1.1 200 OK", [
        "Content-Length: 11",
        "Content-Type: text/plain",
      ], "exactly 11\n"),
      keepOpen: true,
    },
    "/extra-after-body": pastTheBody(),
    "/by-address": response("HTTP/1.1 200 OK", plain("Reached by address.\n"), "Reached by address.\n"),
    "/ipv6": response("HTTP/1.1 200 OK", plain("Reached over IPv6.\n"), "Reached over IPv6.\n"),
    "/continue": {
      bytes: concat("HTTP/1.1 100 Continue\r\n\r\n", continueThenOk.bytes),
      expected: continueThenOk.expected,
    },
    "/dribble": {
      ...response(
        "HTTP/1.1 200 OK",
        plain("one byte at a time\n"),
        "one byte at a time\n",
      ),
      dribble: true,
    },
    "/odd-case": response(
      "HTTP/1.1 200 OK",
      ["cOnTeNt-TyPe: text/plain", "content-LENGTH: 20", "CONNECTION: close"],
      "header names vary.\r\n",
    ),
    "/http10": response("HTTP/1.0 200 OK", [
      "Content-Type: text/plain",
      "Content-Length: 9",
    ], "HTTP/1.0\n"),
    "/no-content": {
      ...response("HTTP/1.1 204 No Content", ["Server: netkata"], ""),
      keepOpen: true,
    },
    "/until-close": response("HTTP/1.1 200 OK", [
      "Content-Type: text/plain",
      "Connection: close",
    ], "no length: read until the server closes\n"),
    "/large": response("HTTP/1.1 200 OK", [
      "Content-Type: application/octet-stream",
      `Content-Length: ${LARGE.length}`,
    ], LARGE),
    "/premature": {
      bytes: concat(
        `HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n${missingBody}`,
      ),
    },
    "/chunked": {
      bytes: concat(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      ),
    },
  };
}

/** The paths the fixture answers, in the order a learner might try them. */
export const FIXTURE_CASES = [
  "/ok",
  "/moved",
  "/missing",
  "/keep-open",
  "/extra-after-body",
  "/by-address",
  "/ipv6",
  "/dribble",
  "/odd-case",
  "/http10",
  "/until-close",
  "/no-content",
  "/continue",
  "/large",
  "/premature",
  "/chunked",
] as const;

/** A running fixture server. */
export interface HttpFixture extends AsyncDisposable {
  readonly port: number;
  /**
   * Whether the fixture also listens on [::1] (the same port): false where
   * IPv6 is off, or something else holds that port there.
   */
  readonly ipv6: boolean;
  /** What a correct client prints for `path`. */
  expected(path: string): Uint8Array | undefined;
  /** Every request received so far. */
  readonly requests: readonly RecordedRequest[];
  close(): Promise<void>;
}

/** How long the fixture waits for a request head. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Starts the fixture on 127.0.0.1 (port 0 by default), and on the same port
 * of [::1] where it can. Clients reach it as `http://localhost:PORT/CASE`,
 * so that they resolve a name, and by address, as `http://127.0.0.1:PORT/`
 * and `http://[::1]:PORT/`, so that a client that ignores the URL's host is
 * seen doing so.
 *
 * @example
 * ```ts ignore
 * import { startHttpFixture } from "./fixture.ts";
 * await using fixture = startHttpFixture();
 * console.log(`curl -v http://localhost:${fixture.port}/ok`);
 * ```
 */
export function startHttpFixture(port = 0): HttpFixture {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const actualPort = (listener.addr as Deno.NetAddr).port;
  const listeners = [listener, ...listenIpv6(actualPort)];
  const cases = replies(actualPort);
  const requests: RecordedRequest[] = [];
  const open = new Set<Deno.TcpConn>();
  const serving = listeners.map((listener) => serveListener(listener, cases, requests, open));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const listener of listeners) listener.close();
    for (const conn of open) {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    }
    await Promise.all(serving);
  };
  return {
    port: actualPort,
    ipv6: listeners.length === 2,
    expected: (path) => cases[path]?.expected,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A listener on [::1]:`port`, or none where IPv6 is off or the port is taken there. */
function listenIpv6(port: number): Deno.TcpListener[] {
  try {
    return [Deno.listen({ hostname: "::1", port })];
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse || error instanceof Deno.errors.AddrNotAvailable) return [];
    throw error;
  }
}

async function serveListener(
  listener: Deno.TcpListener,
  cases: Record<string, Reply>,
  requests: RecordedRequest[],
  open: Set<Deno.TcpConn>,
): Promise<void> {
  // Not `for await (const conn of listener)`: that loop ends, and the
  // checker with it, when a client under test resets before the accept.
  const accepting = acceptConnections(listener, {
    onPause: (error) =>
      console.error(`The fixture server is out of file descriptors and waits before accepting again: ${error.message}`),
  });
  for await (const conn of accepting) {
    open.add(conn);
    serve(conn, cases, requests).finally(() => {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    });
  }
}

async function serve(
  conn: Deno.TcpConn,
  cases: Record<string, Reply>,
  requests: RecordedRequest[],
): Promise<void> {
  let received: Uint8Array = new Uint8Array(0);
  const chunk = new Uint8Array(16 * 1024);
  const deadline = setTimeout(() => conn.close(), REQUEST_TIMEOUT_MS);
  let end = -1;
  try {
    conn.setNoDelay(true);
    while (end === -1 && received.length < MAX_HEAD_BYTES) {
      const n = await conn.read(chunk);
      if (n === null) return;
      received = concat(received, chunk.subarray(0, n));
      end = findHeadEnd(received);
    }
  } catch {
    return; // The client went away, or the deadline closed the connection.
  } finally {
    clearTimeout(deadline);
  }
  const raw = received.subarray(0, end === -1 ? received.length : end);
  const requestLine = new TextDecoder("latin1").decode(raw).split(/\r?\n/)[0];
  const target = requestLine.split(" ")[1] ?? "";
  requests.push({ raw, target, local: (conn.localAddr as Deno.NetAddr).hostname });
  const reply = cases[target] ??
    response("HTTP/1.1 404 Not Found", [
      "Content-Length: 10",
      "Connection: close",
    ], "not found\n");
  try {
    if (reply.dribble) {
      for (let i = 0; i < reply.bytes.length; i++) {
        await writeAll(conn, reply.bytes.subarray(i, i + 1));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } else {
      await writeAll(conn, reply.bytes);
    }
    // Keep-open cases wait for the client to hang up (or the fixture to stop).
    if (reply.keepOpen) { while ((await conn.read(chunk)) !== null); }
  } catch {
    // The client hung up early: its own stage will say what went wrong.
  }
}
