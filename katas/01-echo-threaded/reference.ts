/**
 * Kata 1 — concurrent echo server, one worker per connection.
 *
 * The C version of this kata is socket → setsockopt(SO_REUSEADDR) → bind →
 * listen → accept in a loop → pthread_create + pthread_detach per client.
 * In Deno the same shape is: Deno.listen (which does the first four) →
 * an accept loop that outlives a failed accept → one detached async task
 * per connection.
 *
 * Run it:   deno run --allow-net reference.ts [--port 9000] [--host 127.0.0.1]
 * Poke it:  nc 127.0.0.1 9000
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A running echo server. */
export interface EchoServer {
  /** Where it listens; with port 0 the kernel picked the port. */
  readonly addr: Deno.NetAddr;
  /** Stops accepting, closes every open connection, and waits for all of it. */
  close(): Promise<void>;
}

/**
 * The read buffer, per connection. 64 KiB is the most a loopback segment
 * carries; a smaller buffer works too, but needs more read() calls.
 */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Starts listening and serves every client concurrently.
 *
 * @example
 * ```ts ignore
 * const server = startServer({ port: 0 });
 * console.log(server.addr.port);
 * await server.close();
 * ```
 */
export function startServer(
  { hostname = "127.0.0.1", port = 9000 }: {
    hostname?: string;
    port?: number;
  } = {},
): EchoServer {
  // Deno.listen = socket + setsockopt(SO_REUSEADDR) + bind + listen.
  // Loopback by default: a kata server has no business on the network.
  const listener = Deno.listen({ hostname, port, transport: "tcp" });
  const open = new Set<Deno.TcpConn>();
  const workers = new Set<Promise<void>>();
  const shortage = new ShortageLog();

  const accepting = (async () => {
    // Not `for await (const conn of listener)`: see acceptNext.
    while (true) {
      const conn = await acceptNext(listener, shortage);
      if (conn === undefined) break; // close() closed the listener: done
      open.add(conn);
      // Detached: we do NOT await the worker here. Awaiting it would make
      // the next client wait until this one leaves (one client at a time).
      const worker = serveConnection(conn).finally(() => {
        open.delete(conn);
        workers.delete(worker);
      });
      workers.add(worker);
    }
  })();

  return {
    addr: listener.addr,
    async close() {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      for (const conn of open) closeQuietly(conn);
      await accepting;
      await Promise.all(workers);
    },
  };
}

/**
 * How long to wait after accept() first runs out of file descriptors, and
 * the longest wait: the pause doubles from one to the other while the
 * shortage lasts, so the server notices soon when descriptors free up.
 */
const MIN_ACCEPT_PAUSE_MS = 5;
const MAX_ACCEPT_PAUSE_MS = 500;

/**
 * How long descriptors must stay plentiful before running out again is
 * news. One accept that works does not end a shortage: a server held at its
 * limit while clients come and go accepts between failures all the time (a
 * client leaves, the next one takes its descriptor, the limit is hit again
 * at once), and a line each time would be one line per client, the flood
 * that saying it once is meant to stop. 5 s is far longer than the longest
 * pause (MAX_ACCEPT_PAUSE_MS), and still short beside how often anyone
 * reads a log.
 */
const QUIET_BEFORE_NEWS_MS = 5_000;

/**
 * Says a descriptor shortage once, however long it lasts: it ends when an
 * accept works QUIET_BEFORE_NEWS_MS after the last one that failed.
 */
class ShortageLog {
  #said = false;
  #lastFailedAt = 0;

  /** accept() ran out of descriptors: true if this starts a shortage, to be said. */
  failed(): boolean {
    this.#lastFailedAt = performance.now();
    if (this.#said) return false;
    this.#said = true;
    return true;
  }

  /** accept() worked: the shortage is over if the failures have stayed away long enough. */
  worked(): void {
    if (this.#said && performance.now() - this.#lastFailedAt >= QUIET_BEFORE_NEWS_MS) this.#said = false;
  }
}

/**
 * The next client, or undefined once close() has closed the listener.
 *
 * accept() can fail and the server must go on, which is why this is not
 * `for await (const conn of listener)`: that loop throws on the first
 * failed accept, and one client can then take the whole server down.
 * - ECONNABORTED (Deno: NotConnected): a client connected and reset before
 *   we picked it up. The client's fault, not ours: accept the next one.
 * - EMFILE, ENFILE: we are out of file descriptors. Our fault, and trying
 *   again at once fails again at once: a loop that burns a core and floods
 *   the log. Wait instead, longer each time, while the connections we
 *   already have go on being served and closing. New clients wait in the
 *   kernel's accept queue meanwhile, and we pick them up when we can.
 * Anything else is a fault we do not know how to handle: let it throw.
 *
 * @example Bad: one client that resets before the accept ends the server
 * ```ts ignore
 * for await (const conn of listener) serveConnection(conn);
 * ```
 */
async function acceptNext(
  listener: Deno.TcpListener,
  shortage: ShortageLog,
): Promise<Deno.TcpConn | undefined> {
  let pauseMs = 0;
  while (true) {
    try {
      const conn = await listener.accept();
      shortage.worked();
      return conn;
    } catch (error) {
      // close() closed the listener (while an accept was pending, or not).
      if (
        error instanceof Deno.errors.BadResource ||
        error instanceof Deno.errors.Interrupted
      ) return undefined;
      if (
        error instanceof Deno.errors.NotConnected ||
        error instanceof Deno.errors.ConnectionAborted
      ) continue;
      if (!isOutOfDescriptors(error)) throw error;
      // Say it once per shortage, not once per try nor once per client:
      // the log is for people (see ShortageLog).
      if (shortage.failed()) {
        console.error(`echo: cannot accept, out of file descriptors: ${error.message}`);
      }
      pauseMs = pauseMs === 0 ? MIN_ACCEPT_PAUSE_MS : Math.min(pauseMs * 2, MAX_ACCEPT_PAUSE_MS);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

/** EMFILE: this process has every descriptor it may open; ENFILE: the whole system has. */
function isOutOfDescriptors(error: unknown): error is Error {
  const code = (error as { code?: unknown } | undefined)?.code;
  return error instanceof Error && (code === "EMFILE" || code === "ENFILE");
}

/** Echoes one client's bytes until it closes; never throws. */
async function serveConnection(conn: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  try {
    // Nagle's algorithm holds back a small segment while an earlier one is
    // unacknowledged; the client delays its ACK (40 ms on Linux). An echo
    // server that writes back in pieces hits exactly that: turn Nagle off.
    conn.setNoDelay(true);
    while (true) {
      // read() returns as soon as *some* bytes arrived: n can be 1 even if
      // the client sent a megabyte. null means the client finished sending.
      // (EINTR never reaches us: the runtime retries interrupted calls.)
      const n = await conn.read(buffer);
      if (n === null) break;
      await writeAll(conn, buffer.subarray(0, n));
    }
  } catch (error) {
    // A client that resets (or vanishes) makes read or write throw. That is
    // this client's problem only: log it and close, the server goes on.
    if (!isDisconnect(error)) console.error("echo: connection failed:", error);
  } finally {
    // After EOF we have echoed everything, so closing is the whole
    // answer to the client's half-close.
    closeQuietly(conn);
  }
}

/**
 * write() may send fewer bytes than asked (the socket's send buffer is
 * full) and returns how many it sent: loop until all are gone.
 *
 * @example Bad: silently drops the tail of a large chunk
 * ```ts ignore
 * await conn.write(chunk);
 * ```
 */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await conn.write(bytes.subarray(written));
  }
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BadResource || // closed by close() at shutdown
    error instanceof Deno.errors.Interrupted;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed: closing twice is harmless here.
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "9000" },
      host: { type: "string", default: "127.0.0.1" },
    },
  });
  const port = Number(values.port);
  try {
    const server = startServer({ hostname: values.host, port });
    console.log(
      `echo server listening on ${server.addr.hostname}:${server.addr.port}`,
    );
    // Ctrl-C: stop accepting, close every connection, then exit. Asking for
    // the signal at start matters too: Deno sets its signal handling up the
    // first time anything asks (Deno itself does, soon after start), and
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
