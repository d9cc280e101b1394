/**
 * The Kata 3 reference client faces servers that misbehave: a reset in the
 * middle of the response is one sentence and a non-zero exit, never a stack
 * trace; a response head over its limit is refused, however it arrives.
 */

import assert from "node:assert/strict";
import { run } from "../katas/03-http-client/reference.ts";
import { freePort, waitForListen } from "../lib/net/ports.ts";
import { writeAll } from "../lib/net/io.ts";
import { requires } from "./_support.ts";

const needs = requires("run", "read");
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const encoder = new TextEncoder();

/** Collects what the client prints. */
class Printed {
  bytes: number[] = [];
  write(chunk: Uint8Array): Promise<number> {
    this.bytes.push(...chunk);
    return Promise.resolve(chunk.length);
  }
  text(): string {
    return new TextDecoder().decode(new Uint8Array(this.bytes));
  }
}

/** Runs the reference in-process on `url`. */
async function fetchWithReference(url: string) {
  const stdout = new Printed();
  const stderr = new Printed();
  const code = await run([url], { stdout, stderr });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Serves one connection: reads the request head, then lets `answer` write whatever it likes. */
async function serveOnce(
  answer: (conn: Deno.TcpConn) => Promise<void>,
  fetch: (port: number) => Promise<void>,
): Promise<void> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    using conn = await listener.accept();
    const buffer = new Uint8Array(64 * 1024);
    let request = "";
    while (!request.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) return;
      request += new TextDecoder().decode(buffer.subarray(0, n));
    }
    // The client stops reading once it gives up: a write into a closed
    // connection fails, and that is not this test's business.
    await answer(conn).catch(() => {});
  })();
  await fetch(listener.addr.port);
  await serving;
}

Deno.test({
  name:
    `reference.ts says in one sentence that the server reset the connection mid-response, and exits 6${needs.suffix}`,
  ignore: needs.ignore || Deno.build.os !== "linux",
  async fn() {
    const port = freePort();
    const server = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-ffi",
        `${ROOT}tests/fixtures/hostile_server.ts`,
        "reset-mid-response",
        String(port),
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      assert.equal(await waitForListen("127.0.0.1", port, { exited: server.status }), "listening");
      const client = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-net", `${ROOT}katas/03-http-client/reference.ts`, `http://localhost:${port}/`],
        stdin: "null",
        env: { NO_COLOR: "1" },
      }).output();
      const stderr = new TextDecoder().decode(client.stderr).trim();
      assert.equal(client.code, 6, stderr);
      assert.doesNotMatch(stderr, /Uncaught|^\s+at /m, "printed a stack trace");
      const lines = stderr.split("\n");
      assert.match(lines[0], /resolves to/);
      assert.equal(lines.length, 2, `more than one sentence about the reset:\n${stderr}`);
      assert.match(lines[1], /^The server reset the connection/);
    } finally {
      server.kill("SIGKILL");
      await server.status;
    }
  },
});

Deno.test("run() refuses a response head over 64 KiB even when it ends in one piece", async () => {
  const filler = "x".repeat(70 * 1024);
  await serveOnce(
    (conn) => writeAll(conn, encoder.encode(`HTTP/1.1 200 OK\r\nX-Filler: ${filler}\r\nContent-Length: 2\r\n\r\nok`)),
    async (port) => {
      const result = await fetchWithReference(`http://127.0.0.1:${port}/`);
      assert.equal(result.code, 6, result.stderr);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, /The response head is over 64 KiB/);
    },
  );
});

/** Writes `piece` again and again, a mebibyte in all: far more than any head the client should take. */
async function repeat(conn: Deno.TcpConn, piece: string): Promise<void> {
  const bytes = encoder.encode(piece);
  for (let sent = 0; sent < 1024 * 1024; sent += bytes.length) await writeAll(conn, bytes);
}

Deno.test("run() stops reading a response head that does not end at 64 KiB", async () => {
  await serveOnce(
    async (conn) => {
      await writeAll(conn, encoder.encode("HTTP/1.1 200 OK\r\n"));
      await repeat(conn, "X-Endless: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    },
    async (port) => {
      const result = await fetchWithReference(`http://127.0.0.1:${port}/`);
      assert.equal(result.code, 6, result.stderr);
      assert.match(result.stderr, /The response head is over 64 KiB/);
    },
  );
});

Deno.test("run() counts interim 1xx responses toward the head limit", async () => {
  await serveOnce(
    (conn) => repeat(conn, "HTTP/1.1 100 Continue\r\n\r\n"),
    async (port) => {
      const result = await fetchWithReference(`http://127.0.0.1:${port}/`);
      assert.equal(result.code, 6, result.stderr);
      assert.match(result.stderr, /over 64 KiB/);
    },
  );
});
