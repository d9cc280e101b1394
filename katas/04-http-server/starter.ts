/**
 * Kata 4 — a minimal HTTP/1.1 server on a bare socket.
 *
 * Goal: GET / answers 200 OK, any other path 404 Not Found; each response
 * has Content-Type, Content-Length and Connection: close, lines end in
 * \r\n, and the connection is closed after it. It must work when the
 * request arrives in two or three pieces, split anywhere. A malformed
 * request (the card lists what counts) gets 400 Bad Request at once.
 *
 * Run it:   deno run --allow-net <this file> --port 8080, then curl -v http://127.0.0.1:8080/
 * Check it: deno task kata:4 check --file <this file>
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A running server. */
export interface HttpServer {
  readonly addr: Deno.NetAddr;
  close(): Promise<void>;
}

/** Starts the server; each connection is handled in its own task. */
export function startServer(
  { hostname = "127.0.0.1", port = 8080 }: {
    hostname?: string;
    port?: number;
  } = {},
): HttpServer {
  const listener = Deno.listen({ hostname, port });
  const accepting = acceptLoop(listener);
  return {
    addr: listener.addr as Deno.NetAddr,
    async close() {
      listener.close();
      await accepting;
    },
  };
}

/**
 * Accepts until the listener is closed. Not `for await (const conn of
 * listener)`: that loop throws, and stops accepting for good, the first
 * time accept() fails, and accept() fails in normal operation.
 */
async function acceptLoop(listener: Deno.TcpListener): Promise<void> {
  while (true) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (error instanceof Deno.errors.BadResource) return; // close() closed the listener
      // TODO: a client that reset before we accepted it
      //       (Deno.errors.NotConnected, Deno.errors.ConnectionAborted):
      //       skip it and accept the next (`continue`).
      // Stretch: out of file descriptors (error.code === "EMFILE"): pause
      //       about 100 ms, then try again; the open connections still run.
      throw error;
    }
    // Not awaited: the loop goes straight back to accepting.
    handle(conn).catch(() => {}).finally(() => {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    });
  }
}

async function handle(conn: Deno.TcpConn): Promise<void> {
  // TODO: read until the buffer contains "\r\n\r\n" — one read is NOT one
  //       request: append each read to a buffer and look again.
  // TODO: a "\n" without a "\r" before it: answer 400 now, do not wait for
  //       a "\r\n\r\n" that will never come.
  // TODO: parse the request line: METHOD SP PATH SP HTTP/1.1, then the
  //       header lines (name, colon, value); 400 for what the card calls
  //       malformed (a missing or doubled Host is the card's stretch). Decode
  //       the bytes as latin1: any byte may arrive, and a decoder must not throw.
  // TODO: 200 with a small page for GET /, 404 for any other path.
  // TODO: write the status line, Content-Type, Content-Length (in bytes!)
  //       and Connection: close, each ending in \r\n, an empty line, the body.
  // (acceptLoop closes the connection when handle returns.)
  await Promise.resolve(conn);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8080" },
      host: { type: "string", default: "127.0.0.1" },
    },
  });
  const server = startServer({
    hostname: values.host,
    port: Number(values.port),
  });
  console.log(
    `listening on http://${server.addr.hostname}:${server.addr.port}/`,
  );
}
