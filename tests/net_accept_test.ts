/**
 * lib/net/accept.ts over real sockets: a client that resets before the
 * accept is skipped, and the loop ends when the listener closes. (Running
 * out of descriptors is tested on whole servers in accept_errors_test.ts.)
 */

import assert from "node:assert/strict";
import { acceptConnections } from "../lib/net/accept.ts";
import { connectAndReset } from "../lib/net/reset.ts";
import { requires } from "./_support.ts";

const ffi = requires("ffi");

Deno.test({
  name: `acceptConnections() skips clients that reset before the accept and yields the next${ffi.suffix}`,
  ignore: ffi.ignore || Deno.build.os !== "linux",
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    // Queued before anything accepts: each of these fails the accept.
    for (let i = 0; i < 3; i++) await connectAndReset("127.0.0.1", listener.addr.port);
    using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    let accepted: Deno.TcpConn | undefined;
    for await (const conn of acceptConnections(listener)) {
      accepted = conn;
      break;
    }
    using _ = accepted!;
    assert.equal(accepted?.remoteAddr.port, client.localAddr.port);
  },
});

Deno.test({
  name: `for await over a listener throws on the same clients (why acceptConnections() exists)${ffi.suffix}`,
  ignore: ffi.ignore || Deno.build.os !== "linux",
  async fn() {
    using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    await connectAndReset("127.0.0.1", listener.addr.port);
    await assert.rejects(async () => {
      for await (const conn of listener) conn.close();
    }, Deno.errors.NotConnected);
  },
});

Deno.test("acceptConnections() ends when the listener is closed", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.TcpConn[] = [];
  const looping = (async () => {
    for await (const conn of acceptConnections(listener)) accepted.push(conn);
  })();
  using client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  await client.write(new Uint8Array([1]));
  listener.close();
  await looping;
  for (const conn of accepted) conn.close();
  assert.ok(accepted.length <= 1);
});
