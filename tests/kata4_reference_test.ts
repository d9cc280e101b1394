/**
 * The Kata 4 reference does what RFC 9112 asks of a server, over real
 * sockets: Host rules, control characters, the forms of a request target,
 * exact limits, prompt answers to bare LF, responses that survive a body it
 * will not read, and an accept loop that outlives resets and a full
 * descriptor table.
 */

import assert from "node:assert/strict";
import { type HttpServer, startServer } from "../katas/04-http-server/reference.ts";
import { canReset, connectAndReset } from "../lib/net/reset.ts";
import { freePort, waitForListen } from "../lib/net/ports.ts";
import { hasProgram, requires } from "./_support.ts";

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** How an exchange ended on the server's side. */
type Ending = "closed" | "reset";

interface Answer {
  /** The status code, or 0 when nothing parseable came back. */
  status: number;
  text: string;
  ending: Ending;
}

/**
 * Sends `request` (a string is sent as latin1 octets), optionally
 * half-closes, and reads until the server closes. The server's own request
 * timeout bounds the wait, so a test against a server that never answers
 * fails (with a 408 or a reset) rather than hanging.
 */
async function send(
  port: number,
  request: string | Uint8Array,
  { halfClose = false } = {},
): Promise<Answer> {
  const bytes = typeof request === "string" ? Uint8Array.from(request, (c) => c.charCodeAt(0)) : request;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const reading = readAll(conn);
    for (let offset = 0; offset < bytes.length;) {
      offset += await conn.write(bytes.subarray(offset));
    }
    if (halfClose) await conn.closeWrite();
    const { text, ending } = await reading;
    return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0), text, ending };
  } finally {
    conn.close();
  }
}

async function readAll(conn: Deno.Conn): Promise<{ text: string; ending: Ending }> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(16 * 1024);
  let ending: Ending = "closed";
  try {
    for (let n; (n = await conn.read(buffer)) !== null;) chunks.push(buffer.slice(0, n));
  } catch (error) {
    if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
    ending = "reset";
  }
  return { text: chunks.map((chunk) => latin1.decode(chunk)).join(""), ending };
}

/** Runs `fn` against a fresh reference on a free port, and closes it. */
async function withReference(fn: (port: number, server: HttpServer) => Promise<void>): Promise<void> {
  const server = startServer({ hostname: "127.0.0.1", port: 0 });
  try {
    await fn(server.addr.port, server);
  } finally {
    await server.close();
  }
}

const get = (head: string) => `GET / HTTP/1.1\r\n${head}\r\n`;

/** Each case: what is sent, and the status the reference must answer. */
async function expectStatuses(cases: [what: string, request: string, status: number][]): Promise<void> {
  await withReference(async (port) => {
    for (const [what, request, status] of cases) {
      const answer = await send(port, request);
      assert.equal(answer.status, status, `${what}: got ${JSON.stringify(answer.text.split("\r\n")[0])}`);
      assert.equal(answer.ending, "closed", `${what}: the server reset the connection`);
    }
  });
}

Deno.test("reference answers 400 unless there is exactly one valid Host (RFC 9112 §3.2)", async () => {
  await expectStatuses([
    ["HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400],
    ["HTTP/1.2 without Host (minor ≥ 1)", "GET / HTTP/1.2\r\n\r\n", 400],
    ["two Hosts in HTTP/1.1", get("Host: a\r\nHost: b\r\n"), 400],
    ["two Hosts in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400],
    ["Host: a b", get("Host: a b\r\n"), 400],
    ["Host with a NUL", get("Host: a\x00b\r\n"), 400],
    ["Host: user@host", get("Host: user@host\r\n"), 400],
    ["Host: [::1 (unclosed)", get("Host: [::1\r\n"), 400],
    ["Host: a:b (port not digits)", get("Host: a:b\r\n"), 400],
    ["Host: a/b", get("Host: a/b\r\n"), 400],
    ["Host: example.com:8080", get("Host: example.com:8080\r\n"), 200],
    ["Host: [::1]:80", get("Host: [::1]:80\r\n"), 200],
    ["Host: 127.0.0.1", get("Host: 127.0.0.1\r\n"), 200],
    ["an empty Host", get("Host:\r\n"), 200],
    ["hoSt:<TAB>example.com", get("hoSt:\texample.com\r\n"), 200],
    ["HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 200],
  ]);
});

Deno.test("reference answers 400 to control characters in field values, HTAB and obs-text allowed (RFC 9110 §5.5)", async () => {
  await expectStatuses([
    ["NUL in a value", get("Host: a\r\nX: a\x00b\r\n"), 400],
    ["BEL in a value", get("Host: a\r\nX: test\x07\r\n"), 400],
    ["DEL in a value", get("Host: a\r\nX: \x7f\r\n"), 400],
    ["ESC in a value", get("Host: a\r\nX: \x1b[31m\r\n"), 400],
    ["VT at the end of a value", get("Host: a\r\nX: a\x0b\r\n"), 400],
    ["NBSP (obs-text) at the end of a value", get("Host: a\r\nX: a\xa0\r\n"), 200],
    ["HTAB inside a value", get("Host: a\r\nX: a\tb\r\n"), 200],
    ["an empty value", get("Host: a\r\nX-Empty:\r\n"), 200],
  ]);
});

Deno.test("reference accepts absolute-form targets (RFC 9112 §3.2.2) and rejects malformed ones", async () => {
  await expectStatuses([
    ["absolute-form /", "GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n", 200],
    ["absolute-form without a path", "GET http://localhost HTTP/1.1\r\nHost: localhost\r\n\r\n", 200],
    ["absolute-form with a query", "GET HTTP://localhost:8080/?a=b HTTP/1.1\r\nHost: x\r\n\r\n", 200],
    ["absolute-form /nope", "GET http://localhost/nope HTTP/1.1\r\nHost: localhost\r\n\r\n", 404],
    ["a target that is neither a path nor a URI", "GET nope HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["a fragment in the target", "GET /#top HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["a non-ASCII byte in the target", "GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["a bad percent escape", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["a good percent escape", "GET /?q=%20 HTTP/1.1\r\nHost: a\r\n\r\n", 200],
  ]);
});

Deno.test("reference answers 414 to an over-long target and 431 to a head one byte over its 8 KiB limit", async () => {
  const limit = 8 * 1024;
  /** A GET / head of exactly `size` bytes, padded with one header. */
  const headOf = (size: number) => {
    const fixed = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \r\n\r\n".length;
    return `GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${"p".repeat(size - fixed)}\r\n\r\n`;
  };
  assert.equal(headOf(limit).length, limit);
  await expectStatuses([
    ["a head of exactly 8 KiB", headOf(limit), 200],
    ["a head of 8 KiB + 1", headOf(limit + 1), 431],
    ["a head of 9 000 bytes", headOf(9_000), 431],
    ["a 9 000-byte target", `GET /${"a".repeat(9_000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414],
    ["2 000 header lines", get(`Host: a\r\n${"X-A: b\r\n".repeat(2_000)}`), 431],
  ]);
});

Deno.test("reference answers bare LF and bare CR with 400 at once, not a 408 after its timeout", async () => {
  await expectStatuses([
    ["bare LF line endings", "GET / HTTP/1.1\nHost: a\n\n", 400],
    ["a bare LF after the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400],
    ["a bare CR before a header", "GET / HTTP/1.1\r\nHost: a\r\n\rX: y\r\n\r\n", 400],
    ["a bare CR inside a value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400],
  ]);
});

Deno.test("reference answers methods, versions and bodies as RFC 9110/9112 ask", async () => {
  await expectStatuses([
    ["POST with a body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 405],
    [
      "POST with a chunked body: 405, not 501",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nc\r\nHellO world1\r\n0\r\n\r\n",
      405,
    ],
    [
      "GET with a chunked body: answered, the body thrown away",
      "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      200,
    ],
    ["Transfer-Encoding whose last coding is not chunked", get("Host: a\r\nTransfer-Encoding: gzip\r\n"), 400],
    ["Transfer-Encoding gzip, chunked", get("Host: a\r\nTransfer-Encoding: gzip, chunked\r\n"), 501],
    [
      "Content-Length and Transfer-Encoding together, in odd case",
      "POST / HTTP/1.1\r\nHost: a\r\ncontent-LengtH: 5\r\nTransFer-Encoding: chunked\r\n\r\nc\r\nHellO world1\r\n0\r\n\r\n",
      400,
    ],
    ["a negative Content-Length", get("Host: a\r\nContent-Length: -1234\r\n"), 400],
    ["two different Content-Lengths", get("Host: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n"), 400],
    ["a Content-Length over 1 MiB", get(`Host: a\r\nContent-Length: ${2 * 1024 * 1024}\r\n`), 413],
    ["HTTP/2.0 in HTTP/1 syntax", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505],
    ["HTTP/1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400],
    ["http/1.1 in lower case", "GET / http/1.1\r\nHost: a\r\n\r\n", 400],
    ["Expect: 100-continue on a GET", get("Host: a\r\nExpect: 100-continue\r\n"), 200],
  ]);
  await withReference(async (port) => {
    const head = await send(port, get("Host: a\r\n").replace("GET", "HEAD"));
    assert.equal(head.status, 200);
    assert.match(head.text, /\r\nContent-Length: [1-9]\d*\r\n/);
    assert.ok(head.text.endsWith("\r\n\r\n"), "a HEAD response has no body");
    const post = await send(port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    assert.match(post.text, /\r\nAllow: GET, HEAD\r\n/);
  });
});

/**
 * The cases of uNetworking/h1spec that a GET-only server can pass, in our
 * own words: a valid request gets a 2xx, a broken one a 4xx (or a 5xx where
 * the version is unknown), and a request cut short anywhere gets no answer
 * until the rest arrives.
 */
Deno.test("reference passes the h1spec-style cases a GET-only server can pass", async () => {
  await expectStatuses([
    ["no HTTP version", "GET / \r\n\r\n", 400],
    ["valid GET", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", 200],
    ["HTAB after the colon, an empty field", "GET / HTTP/1.1\r\nhoSt:\texample.com\r\nempty:\r\n\r\n", 200],
    ["[] in a field name", "GET / HTTP/1.1\r\nHost: example.com\r\nX-Invalid[]: test\r\n\r\n", 400],
    ["no Host, a Content-Length", "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 400],
    ["two Hosts", "GET / HTTP/1.1\r\nHost: example.com\r\nHost: example.org\r\n\r\n", 400],
    [
      "an overflowing negative Content-Length",
      "GET / HTTP/1.1\r\nHost: example.com\r\nContent-Length: -123456789123456789123456789\r\n\r\n",
      400,
    ],
    ["a non-numeric Content-Length", "GET / HTTP/1.1\r\nHost: example.com\r\nContent-Length: abc\r\n\r\n", 400],
    ["an empty value with a space", "GET / HTTP/1.1\r\nHost: example.com\r\nX-Empty-Header: \r\n\r\n", 200],
    ["HTTP/9.9", "GET / HTTP/9.9\r\nHost: example.com\r\n\r\n", 505],
    ["garbage before the method", "Extra lineGET / HTTP/1.1\r\nHost: example.com\r\n\r\n", 400],
  ]);
  const request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  await withReference(async (port) => {
    for (let cut = 1; cut < request.length; cut++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(encoder.encode(request.slice(0, cut)));
        // Whatever the server does with the first piece, it must not have
        // answered it: the answer that comes is the answer to the whole.
        await new Promise((resolve) => setTimeout(resolve, 5));
        await conn.write(encoder.encode(request.slice(cut)));
        const { text } = await readAll(conn);
        assert.match(text, /^HTTP\/1\.1 200 OK\r\n/, `cut after ${JSON.stringify(request.slice(0, cut))}`);
      } finally {
        conn.close();
      }
    }
  });
});

const spawns = requires("run", "read");

/**
 * Runs `fn` against the reference started as its own process (`prefix`
 * before the deno command, e.g. prlimit), so that server and client really
 * run at the same time; stops it, and fails if it died by itself.
 */
async function withReferenceProcess(prefix: string[], fn: (port: number) => Promise<void>): Promise<void> {
  const port = freePort();
  const reference = new URL("../katas/04-http-server/reference.ts", import.meta.url).pathname;
  const argv = [...prefix, Deno.execPath(), "run", "--allow-net", reference, "--port", String(port)];
  const child = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
  const stderr = new Response(child.stderr).text();
  try {
    assert.equal(await waitForListen("127.0.0.1", port, { exited: child.status }), "listening");
    await fn(port);
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // It died already; its stderr says why.
    }
    const status = await child.status;
    const output = await stderr;
    assert.equal(status.signal, "SIGTERM", `the reference exited by itself (status ${status.code}): ${output}`);
  }
}

/**
 * A client that sends a large body in 64 KiB pieces, the way curl does, and
 * carries on sending once the answer has begun to arrive (as a client that
 * is busy writing does). It gets the whole answer only if the server does
 * not close with unread input: such a close makes the kernel send RST, and
 * the next write fails with "Broken pipe", which is all curl then reports.
 */
async function postLargeBody(
  port: number,
  bodyBytes: number,
  head = `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${bodyBytes}\r\n\r\n`,
): Promise<string> {
  const piece = new Uint8Array(64 * 1024).fill(0x61);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    let answerBegan = () => {};
    const began = new Promise<void>((resolve) => answerBegan = resolve);
    const reading = (async () => {
      const buffer = new Uint8Array(16 * 1024);
      let text = "";
      try {
        for (let n; (n = await conn.read(buffer)) !== null;) {
          text += latin1.decode(buffer.subarray(0, n));
          answerBegan();
        }
        return { text, ending: "closed" };
      } catch (error) {
        if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
        return { text, ending: "reset" };
      } finally {
        answerBegan();
      }
    })();
    let sent = "sent";
    try {
      await conn.write(encoder.encode(head));
      for (let remaining = bodyBytes; remaining > 0; remaining -= piece.length) {
        const bytes = piece.subarray(0, Math.min(piece.length, remaining));
        for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
        if (remaining === bodyBytes) await began;
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset)) throw error;
      sent = error.name;
    }
    const { text, ending } = await reading;
    return `${/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? "none"}/${sent}/${ending}`;
  } finally {
    conn.close();
  }
}

Deno.test("reference delivers 20 of 20 413s to clients sending 2 MiB bodies: no reset (RFC 9112 §9.6)", async () => {
  await withReference(async (port) => {
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) outcomes.push(await postLargeBody(port, 2 * 1024 * 1024));
    const delivered = outcomes.filter((outcome) => outcome === "413/sent/closed").length;
    assert.equal(delivered, 20, `delivered ${delivered}/20: ${outcomes.join(" ")}`);
  });
});

/**
 * The reference skips the close in stages only when the client will send
 * nothing more. A client that said "close" and sends a body still may:
 * closing at once would reset it mid-body, as it would the 413s above.
 */
Deno.test("reference delivers 20 of 20 answers to Connection: close requests with a body it never reads", async () => {
  await withReference(async (port) => {
    const bodyBytes = 512 * 1024;
    const heads = {
      "Content-Length": `GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: ${bodyBytes}\r\n\r\n`,
      "chunked": "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    for (const [what, head] of Object.entries(heads)) {
      const outcomes: string[] = [];
      for (let i = 0; i < 10; i++) outcomes.push(await postLargeBody(port, bodyBytes, head));
      const delivered = outcomes.filter((outcome) => outcome === "200/sent/closed").length;
      assert.equal(delivered, 10, `${what}: delivered ${delivered}/10: ${outcomes.join(" ")}`);
    }
  });
});

Deno.test("reference answers Connection: close and HTTP/1.0 requests and closes cleanly", async () => {
  await expectStatuses([
    ["Connection: close", get("Host: a\r\nConnection: close\r\n"), 200],
    ["Connection: keep-alive, CLOSE", get("Host: a\r\nConnection: keep-alive, CLOSE\r\n"), 200],
    ["HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", 200],
    ["HTTP/1.0 with keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200],
    ["Connection: close, a 404", "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 404],
  ]);
});

Deno.test("reference does not reset a client that sends more after a request that said close (RFC 9112 §9.6)", async () => {
  // The fuzzer's case: HTTP/1.0 (or Connection: close), then more bytes once
  // the answer is out. The client should not send them; the server must not
  // answer them with a reset, which can destroy the answer still in the
  // client's buffer. A close in stages reads them and lets go.
  await withReference(async (port) => {
    const requests = ["GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"];
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      using conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(encoder.encode(requests[i % 2]));
      // The whole answer, then the server's FIN: only now send more.
      const buffer = new Uint8Array(4096);
      while ((await conn.read(buffer)) !== null);
      try {
        // On loopback a reset comes back within the first write; the second
        // one then fails. A server still reading takes both.
        await conn.write(encoder.encode(requests[i % 2]));
        await conn.write(encoder.encode(requests[i % 2]));
        outcomes.push("taken");
      } catch (error) {
        if (!(error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset)) throw error;
        outcomes.push("reset");
      }
    }
    assert.deepEqual(outcomes.filter((outcome) => outcome === "reset"), [], outcomes.join(" "));
  });
});

const resets = canReset();
Deno.test({
  name: `reference keeps accepting after 1 000 clients that connect and reset${
    resets ? "" : " [ignored: needs --allow-ffi on Linux; runs in deno task test]"
  }`,
  ignore: !resets,
  async fn() {
    await withReference(async (port) => {
      for (let i = 0; i < 1_000; i++) await connectAndReset("127.0.0.1", port);
      assert.equal((await send(port, get("Host: a\r\n"))).status, 200);
    });
  },
});

const prlimit = !spawns.ignore && await hasProgram("prlimit");
Deno.test({
  name: `reference keeps serving, and accepts again, after running out of descriptors (prlimit --nofile=256)${
    spawns.suffix || (prlimit ? "" : " [ignored: prlimit (util-linux) is not installed]")
  }`,
  ignore: !prlimit,
  async fn() {
    await withReferenceProcess(["prlimit", "--nofile=256"], async (port) => {
      const idle: Deno.TcpConn[] = [];
      try {
        // One client connected before the flood: the server has it already.
        const early = await Deno.connect({ hostname: "127.0.0.1", port });
        idle.push(early);
        await early.write(encoder.encode("GET / HTTP/1.1\r\n"));
        for (let i = 0; i < 400; i++) idle.push(await Deno.connect({ hostname: "127.0.0.1", port }));
        // More connections than descriptors: the server must still serve the
        // ones it has...
        await early.write(encoder.encode("Host: a\r\n\r\n"));
        assert.match((await readAll(early)).text, /^HTTP\/1\.1 200 /);
        // ...and accept again once they are gone.
        for (const conn of idle.splice(0)) conn.close();
        const answer = await send(port, get("Host: a\r\n"));
        assert.equal(answer.status, 200, `after the flood: ${JSON.stringify(answer.text)}`);
      } finally {
        for (const conn of idle) conn.close();
      }
    });
  },
});

Deno.test("reference close() closes every open connection, half-sent or idle, and waits for their handlers", async () => {
  const server = startServer({ hostname: "127.0.0.1", port: 0 });
  const port = server.addr.port;
  const clients: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      clients.push(conn);
      if (i % 2 === 0) await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: a\r\n"));
    }
    // Accepted in order: once a later client is served, the server holds all 20.
    assert.equal((await send(port, get("Host: a\r\n"))).status, 200);
    const endings = clients.map((conn) => readAll(conn));
    await server.close();
    // Each client sees the server hang up without an answer, long before the 10 s timeout.
    for (const { text } of await Promise.all(endings)) assert.equal(text, "");
  } finally {
    for (const conn of clients) conn.close();
  }
});
