/**
 * The Kata 2 reference run as a program, the way a learner runs it: Ctrl-C
 * stops it cleanly, and when accept() runs out of file descriptors it backs
 * off instead of spinning, then accepts again once descriptors are free.
 */

import assert from "node:assert/strict";
import { requires } from "./_support.ts";

const REFERENCE = decodeURIComponent(
  new URL("../katas/02-echo-event-loop/reference.ts", import.meta.url).pathname,
);
const run = requires("run");

/** The reference in its own process, on a port the kernel picks, with its output collected. */
class ReferenceProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stderrDone: Promise<void>;
  #stderr = "";
  #stderrWaiters: (() => void)[] = [];
  port = 0;

  /** With `fileLimit`, the process may hold at most that many file descriptors (`ulimit -n`). */
  constructor(fileLimit?: number) {
    const deno = [Deno.execPath(), "run", "--allow-net", REFERENCE, "--port", "0"];
    const child = new Deno.Command("sh", {
      args: ["-c", `${fileLimit ? `ulimit -n ${fileLimit} && ` : ""}exec "$@"`, "sh", ...deno],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#stderrDone = (async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr += text;
        for (const wake of this.#stderrWaiters.splice(0)) wake();
      }
      for (const wake of this.#stderrWaiters.splice(0)) wake();
    })();
  }

  get status(): Promise<Deno.CommandStatus> {
    return this.#child.status;
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Waits for the "listening on HOST:PORT" line and takes the port from it. */
  async listening(): Promise<number> {
    let said = "";
    for await (const text of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      said += text;
      const match = said.match(/listening on [\d.]+:(\d+)\n/);
      if (match) return this.port = Number(match[1]);
    }
    throw new Error(`The reference exited before it listened: ${this.#stderr.trim()}`);
  }

  /** Waits until stderr contains `text`; fails if the process ends first. */
  async stderrIncludes(text: string): Promise<void> {
    let ended = false;
    this.#stderrDone.then(() => ended = true);
    while (!this.#stderr.includes(text)) {
      if (ended) throw new Error(`The reference ended without saying "${text}": ${this.#stderr.trim()}`);
      await new Promise<void>((wake) => this.#stderrWaiters.push(wake));
    }
  }

  interrupt(): void {
    this.#child.kill("SIGINT");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.#child.status;
    await this.#stderrDone;
  }
}

async function echoOnce(conn: Deno.Conn, byte: number): Promise<void> {
  await conn.write(new Uint8Array([byte]));
  const echo = new Uint8Array(1);
  assert.equal(await conn.read(echo), 1);
  assert.equal(echo[0], byte);
}

Deno.test({
  name: `kata 2 reference stops on Ctrl-C: closes its clients and exits with status 0${run.suffix}`,
  ignore: run.ignore,
  fn: async () => {
    await using server = new ReferenceProcess();
    const port = await server.listening();
    using client = await Deno.connect({ hostname: "127.0.0.1", port });
    await echoOnce(client, 42);

    server.interrupt();

    assert.equal(await client.read(new Uint8Array(1)), null);
    const status = await server.status;
    assert.equal(status.success, true, `exit: ${JSON.stringify(status)}\n${server.stderr}`);
  },
});

Deno.test({
  name: `kata 2 reference backs off while out of file descriptors, then accepts again${run.suffix}`,
  ignore: run.ignore || Deno.build.os !== "linux",
  fn: async () => {
    // 64 descriptors: the runtime takes about 20, so some 40 clients fit.
    // 60 clients: the rest wait in the listen backlog, and accept() fails
    // with EMFILE for as long as they wait.
    await using server = new ReferenceProcess(64);
    const port = await server.listening();
    const clients: Deno.TcpConn[] = [];
    try {
      for (let i = 0; i < 60; i++) {
        clients.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      }
      await server.stderrIncludes("accept failed");

      // While out of descriptors, the loop still serves the clients it has.
      // Retrying accept() at once would fail at once, thousands of times
      // over during these round trips; backing off, it fails a few times.
      const started = performance.now();
      for (let i = 0; i < 500; i++) await echoOnce(clients[0], i % 256);
      const elapsedMs = performance.now() - started;
      const failures = server.stderr.split("accept failed").length - 1;
      assert.ok(
        failures <= 10 + elapsedMs / 100,
        `${failures} failed accepts in ${elapsedMs.toFixed(0)} ms: the server retries without waiting`,
      );

      // 40 clients leave: their descriptors come free, and the clients still
      // in the backlog are accepted and served.
      for (const client of clients.splice(1, 40)) client.close();
      await echoOnce(clients.at(-1)!, 7);
    } finally {
      for (const client of clients) client.close();
    }
  },
});
