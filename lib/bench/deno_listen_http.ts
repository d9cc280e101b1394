/**
 * The least a `Deno.listen` HTTP server can be: accept, read until the
 * empty line that ends the request head, write one prepared response, close.
 * No parsing, no limits, no timers. The HTTP benchmark measures it beside
 * the Kata 4 reference and Deno.serve: where the reference is no cheaper
 * than this, the cost is the runtime's (a JavaScript promise and op for
 * every accept, read and write, which Deno.serve does in Rust), not the
 * reference's. Bench only: it answers every request with the same page.
 *
 *   deno run --allow-net lib/bench/deno_listen_http.ts PORT
 *
 * @module
 */

const PAGE = "<!doctype html>\n<title>netkata</title>\n<p>Hello from Kata 4.</p>\n";
const RESPONSE = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" +
    `Content-Length: ${PAGE.length}\r\nConnection: close\r\n\r\n${PAGE}`,
);
const CR = 13, LF = 10;

if (import.meta.main) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
  while (true) {
    // accept() fails now and then in normal operation (a client that reset
    // first, no descriptor to spare): skip that one, keep accepting.
    const conn = await listener.accept().catch(() => undefined);
    if (conn) answer(conn);
  }
}

async function answer(conn: Deno.TcpConn): Promise<void> {
  const head = new Uint8Array(8 * 1024);
  let filled = 0;
  try {
    while (filled < head.length) {
      const n = await conn.read(head.subarray(filled));
      if (n === null) return;
      filled += n;
      if (endsHead(head, filled)) break;
    }
    for (let sent = 0; sent < RESPONSE.length;) sent += await conn.write(RESPONSE.subarray(sent));
  } catch {
    // A reset ends this client only.
  } finally {
    conn.close();
  }
}

/** Whether the bytes read so far end with CR LF CR LF. */
function endsHead(bytes: Uint8Array, length: number): boolean {
  return length >= 4 && bytes[length - 4] === CR && bytes[length - 3] === LF && bytes[length - 2] === CR &&
    bytes[length - 1] === LF;
}
