/**
 * Kata 4 — a minimal HTTP/1.1 server on a bare socket.
 *
 * Goal: GET / answers 200 OK, any other path 404 Not Found; each response
 * has Content-Type, Content-Length and Connection: close, lines end in
 * \r\n, and the connection is closed after it. It must work when the
 * request arrives in two or three pieces, split anywhere.
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
  const accepting = (async () => {
    for await (const conn of listener) {
      handle(conn).catch(() => conn.close());
    }
  })();
  return {
    addr: listener.addr as Deno.NetAddr,
    async close() {
      listener.close();
      await accepting;
    },
  };
}

async function handle(conn: Deno.TcpConn): Promise<void> {
  // TODO: read until the buffer contains "\r\n\r\n" — one read is NOT one
  //       request: append each read to a buffer and look again.
  // TODO: parse the request line: METHOD SP PATH SP HTTP/1.1.
  // TODO: 200 with a small page for GET /, 404 for any other path.
  // TODO: write the status line, Content-Type, Content-Length (in bytes!)
  //       and Connection: close, each ending in \r\n, an empty line, the body.
  // TODO: close the connection.
  await Promise.resolve();
  conn.close();
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
