/**
 * The least a Deno echo server can be: `Deno.listen`, one task per
 * connection, read into one buffer and write it all back. Nothing to
 * optimise away, so the echo benchmark measures it beside the Kata 2
 * reference: where the reference is no faster than this, the limit is the
 * runtime's (its accept, read and write ops), not the reference's design.
 * Bench only: it has none of a kata server's care (no shutdown, no logging).
 *
 *   deno run --allow-net lib/bench/deno_listen_echo.ts PORT
 *
 * @module
 */

if (import.meta.main) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
  for await (const conn of listener) echo(conn);
}

async function echo(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (let n; (n = await conn.read(buffer)) !== null;) {
      for (let sent = 0; sent < n;) sent += await conn.write(buffer.subarray(sent, n));
    }
  } catch {
    // A reset ends this client only.
  } finally {
    conn.close();
  }
}
