/**
 * Kata 1 — concurrent echo server, one worker per connection.
 *
 * Goal: echo every byte each client sends until it closes, serving many
 * clients at once, each in its own detached task. Fill in the TODOs from
 * memory; the checker re-runs every time you save.
 *
 * Run it:   deno run --allow-net <this file> --port 9000
 * Check it: deno task kata:1 check --file <this file>
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A running echo server. */
export interface EchoServer {
  readonly addr: Deno.NetAddr;
  close(): Promise<void>;
}

/** Starts listening and serves every client concurrently. */
export function startServer(
  { hostname = "127.0.0.1", port = 9000 }: {
    hostname?: string;
    port?: number;
  } = {},
): EchoServer {
  // TODO: listen on hostname:port (TCP).
  const listener = Deno.listen({ hostname, port });

  const accepting = (async () => {
    // TODO: this loop throws, and the server ends, on the first failed
    //       accept. Call listener.accept() in a loop of your own: skip a
    //       client that reset before you accepted it (Deno.errors.NotConnected),
    //       back off a little when out of file descriptors (error.code
    //       "EMFILE"), and stop when close() closed the listener (BadResource).
    for await (const conn of listener) {
      // TODO: serve this connection without making the next client wait.
      conn.close();
    }
  })();

  return {
    addr: listener.addr as Deno.NetAddr,
    async close() {
      listener.close();
      await accepting;
      // TODO: close the connections that are still open.
    },
  };
}

/** Echoes one client's bytes until it closes. */
export async function serveConnection(conn: Deno.TcpConn): Promise<void> {
  // TODO: turn off Nagle's algorithm (why? see the card's common mistakes).
  // TODO: read into a buffer until read() returns null.
  // TODO: write back exactly the bytes read — all of them, even when write()
  //       writes fewer than you gave it.
  // TODO: a client that resets must not crash the server.
  // TODO: close the connection when the client is done.
  await Promise.resolve(conn);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "9000" },
      host: { type: "string", default: "127.0.0.1" },
    },
  });
  const server = startServer({
    hostname: values.host,
    port: Number(values.port),
  });
  console.log(`listening on ${server.addr.hostname}:${server.addr.port}`);
}
