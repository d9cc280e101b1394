/**
 * Every server the kit ships keeps accepting. A client that connects and
 * resets before the accept completes (ECONNABORTED; Deno: NotConnected) is
 * that client's problem only; running out of file descriptors (EMFILE) is
 * the server's, and it backs off, goes on serving the connections it has,
 * and accepts again once some close. Each server runs as its own process,
 * the way a learner runs it, so that a crash is a dead process.
 */

import assert from "node:assert/strict";
import { buildC } from "../lib/tools/build_c.ts";
import { connectAndReset } from "../lib/net/reset.ts";
import { readFull, readToEnd, writeAll } from "../lib/net/io.ts";
import { freePort, waitForListen } from "../lib/net/ports.ts";
import { hasProgram, requires, withTempDir } from "./_support.ts";
import { within } from "./_accept_support.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const needs = requires("run", "read", "write");
const resets = requires("run", "read", "write", "ffi");
const haveCc = !needs.ignore && await hasProgram("cc");
const havePrlimit = !needs.ignore && await hasProgram("prlimit");
const onLinux = Deno.build.os === "linux";

/** How many clients connect and reset in a row. */
const RESETS = 1_000;
/** The open-file limit the server runs under, and how many idle clients exceed it. */
const FILE_LIMIT = 256;
const IDLE_CLIENTS = 400;
/** How long an answer may take before the server counts as not answering. */
const ANSWER_MS = 5_000;
/**
 * How old a server must be before its shortage of descriptors ends. A real
 * shortage lasts; and Deno sets up its signal handling about half a second
 * after start, which needs a descriptor: a Deno server that is out of them
 * then dies (Deno 2.9 panics) unless it set signals up while it could.
 */
const SHORTAGE_UNTIL_AGE_MS = 1_500;
/** How long the server has to accept again once the idle clients are gone. */
const RECOVERY_MS = 10_000;

/** One request on an open connection; throws unless the right answer comes back. */
type Probe = (conn: Deno.TcpConn) => Promise<void>;

const encoder = new TextEncoder();

/** An echo round trip. */
const echoes: Probe = async (conn) => {
  const payload = encoder.encode("still serving?\n");
  await writeAll(conn, payload);
  const echoed = new Uint8Array(payload.length);
  const n = await readFull(conn, echoed);
  assert.deepEqual(echoed.subarray(0, n), payload, "the echo did not come back");
};

/** `GET path` answered with `status`. */
function answersGet(path: string, status = "HTTP/1.1 200 OK"): Probe {
  return async (conn) => {
    await writeAll(
      conn,
      encoder.encode(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`),
    );
    const response = new TextDecoder().decode(await readToEnd(conn, 1024 * 1024));
    assert.equal(response.split("\r\n")[0], status, `GET ${path} was answered with: ${response.slice(0, 200)}`);
  };
}

/** A server the kit ships: how to start it on a port, and a request it must answer. */
interface ShippedServer {
  name: string;
  /** The command line; `scratch` is a folder for anything it must build. */
  argv(port: number, scratch: string): Promise<string[]> | string[];
  probe: Probe;
  /** Why it cannot run here, if it cannot. */
  missing?: string;
  /** It closes its listener while out of descriptors, so new clients are refused meanwhile. */
  refusesWhenOut?: boolean;
}

const deno = (...args: string[]) => [Deno.execPath(), "run", ...args];

/** Builds a C reference into `directory`. */
function cReference(slug: string, directory: string): Promise<string> {
  return buildC(new URL(`../katas/${slug}/reference.c`, import.meta.url), directory);
}

const SERVERS: ShippedServer[] = [
  {
    name: "the kata 1 reference",
    argv: (port) => deno("--allow-net", `${ROOT}katas/01-echo-threaded/reference.ts`, "--port", String(port)),
    probe: echoes,
  },
  {
    name: "the kata 1 C reference",
    argv: async (port, scratch) => [await cReference("01-echo-threaded", scratch), String(port)],
    probe: echoes,
    missing: haveCc ? undefined : "no cc on PATH",
  },
  {
    name: "the kata 2 reference",
    argv: (port) => deno("--allow-net", `${ROOT}katas/02-echo-event-loop/reference.ts`, "--port", String(port)),
    probe: echoes,
  },
  {
    name: "the kata 2 C reference",
    argv: async (port, scratch) => [await cReference("02-echo-event-loop", scratch), String(port)],
    probe: echoes,
    missing: haveCc ? undefined : "no cc on PATH",
  },
  {
    name: "the kata 1 syscall-track reference (a Worker per connection)",
    argv: (port) =>
      deno(
        "--allow-ffi",
        `--allow-read=${ROOT}katas`,
        `${ROOT}katas/01-echo-threaded/reference_syscalls.ts`,
        "--port",
        String(port),
      ),
    probe: echoes,
    missing: onLinux ? undefined : "the syscall track is Linux's",
  },
  {
    name: "the kata 2 syscall-track reference (epoll)",
    argv: (port) =>
      deno("--allow-ffi", `${ROOT}katas/02-echo-event-loop/reference_syscalls.ts`, "--port", String(port)),
    probe: echoes,
    missing: onLinux ? undefined : "the syscall track is Linux's",
  },
  {
    name: "the kata 3 fixture (deno task kata:3 fixture)",
    argv: (port) =>
      deno("--allow-net", `--allow-read=${ROOT}`, `${ROOT}tasks/kata.ts`, "3", "fixture", "--port", String(port)),
    probe: answersGet("/ok"),
  },
  {
    name: "the kata 4 reference",
    argv: (port) => deno("--allow-net", `${ROOT}katas/04-http-server/reference.ts`, "--port", String(port)),
    probe: answersGet("/"),
  },
  {
    name: "the Deno.serve benchmark server",
    argv: (port) => deno("--allow-net", `${ROOT}lib/bench/deno_serve.ts`, String(port)),
    probe: answersGet("/"),
    refusesWhenOut: true,
  },
];

/** What a server process has printed on stderr, and a way to wait for a line. */
class ErrorOutput {
  /** Everything printed, up to 1 MiB. */
  text = "";
  /** How many bytes were printed in all. */
  bytes = 0;
  #changed = Promise.withResolvers<void>();
  #ended = false;
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  async #pump(stream: ReadableStream<Uint8Array>) {
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        this.bytes += chunk.length;
        if (this.text.length < 1024 * 1024) this.text += chunk;
        this.#changed.resolve();
        this.#changed = Promise.withResolvers();
      }
    } finally {
      this.#ended = true;
      this.#changed.resolve();
    }
  }

  /** Resolves once `pattern` has been printed; throws if the process ends or `ms` pass first. */
  async until(pattern: RegExp, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pattern.test(this.text)) {
      if (this.#ended) throw new Error(`The server ended without printing ${pattern}:\n${this.text.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`The server did not print ${pattern} within ${ms / 1000} s:\n${this.text.slice(-2000)}`);
      }
      await within(this.#changed.promise, "the next line", left).catch(() => {});
    }
  }
}

/** A server process under test; stopping it is safe to repeat. */
interface RunningServer extends AsyncDisposable {
  port: number;
  /** When it was started, on the performance.now() clock. */
  startedAt: number;
  stderr: ErrorOutput;
  /** The exit status, once it has exited. */
  status?: Deno.CommandStatus;
}

async function startServer(server: ShippedServer, scratch: string, fileLimit?: number): Promise<RunningServer> {
  const port = freePort();
  const argv = await server.argv(port, scratch);
  const [program, ...args] = fileLimit === undefined ? argv : ["prlimit", `--nofile=${fileLimit}`, ...argv];
  const child = new Deno.Command(program, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
  const stderr = new ErrorOutput(child.stderr);
  const running: RunningServer = {
    port,
    startedAt: performance.now(),
    stderr,
    async [Symbol.asyncDispose]() {
      if (!running.status) {
        try {
          child.kill("SIGKILL");
        } catch {
          // It exited on its own just now.
        }
      }
      await child.status;
      await stderr.done;
    },
  };
  child.status.then((status) => running.status = status);
  const listening = await waitForListen("127.0.0.1", port, { timeoutMs: 15_000, exited: child.status });
  if (listening !== "listening") {
    await running[Symbol.asyncDispose]();
    throw new Error(`${server.name} did not start (${listening}):\n${stderr.text}`);
  }
  return running;
}

/** Opens a connection and makes one request on it, within {@linkcode ANSWER_MS}. */
async function answers(server: ShippedServer, port: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await within(server.probe(conn), "the answer", ANSWER_MS);
  } finally {
    conn.close();
  }
}

function describeExit(running: RunningServer): string {
  if (!running.status) return "";
  return ` (the server ${
    running.status.signal ? `was killed by ${running.status.signal}` : `exited with status ${running.status.code}`
  }:\n${running.stderr.text.slice(-1500)})`;
}

for (const server of SERVERS) {
  const resetReason = resets.suffix || (server.missing ? ` [ignored: ${server.missing}]` : "");
  Deno.test({
    name: `${server.name} answers after ${RESETS} clients that connect and reset${resetReason}`,
    ignore: resets.ignore || !onLinux || server.missing !== undefined,
    fn: () =>
      withTempDir("netkata-accept-", async (scratch) => {
        await using running = await startServer(server, scratch);
        for (let i = 0; i < RESETS; i++) {
          try {
            await connectAndReset("127.0.0.1", running.port);
          } catch (error) {
            assert.fail(`Reset client ${i + 1} of ${RESETS} could not connect: ${error}${describeExit(running)}`);
          }
        }
        await answers(server, running.port).catch((error) => {
          assert.fail(`After ${RESETS} resets: ${error}${describeExit(running)}`);
        });
        assert.equal(running.status, undefined, `the server exited${describeExit(running)}`);
      }),
  });

  const limitReason = needs.suffix ||
    (server.missing ? ` [ignored: ${server.missing}]` : havePrlimit ? "" : " [ignored: no prlimit on PATH]");
  Deno.test({
    name:
      `${server.name} under a ${FILE_LIMIT}-file limit serves its connections through ${IDLE_CLIENTS} idle clients, then accepts again${limitReason}`,
    ignore: needs.ignore || !onLinux || !havePrlimit || server.missing !== undefined,
    fn: () =>
      withTempDir("netkata-accept-", async (scratch) => {
        await using running = await startServer(server, scratch, FILE_LIMIT);
        const held = await Deno.connect({ hostname: "127.0.0.1", port: running.port });
        const idle: Deno.TcpConn[] = [];
        try {
          for (let i = 0; i < IDLE_CLIENTS; i++) {
            try {
              idle.push(await Deno.connect({ hostname: "127.0.0.1", port: running.port }));
            } catch (error) {
              const refused = error instanceof Deno.errors.ConnectionRefused ||
                error instanceof Deno.errors.ConnectionReset;
              if (!server.refusesWhenOut || !refused) throw error;
              break;
            }
          }
          // The server says when it runs out of descriptors: that is the moment
          // the connection it already has must still be served.
          await running.stderr.until(/open files/i, RECOVERY_MS);
          const age = performance.now() - running.startedAt;
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, SHORTAGE_UNTIL_AGE_MS - age)));
          await within(server.probe(held), "the answer on a connection accepted before the limit", ANSWER_MS)
            .catch((error) => assert.fail(`${error}${describeExit(running)}`));
        } finally {
          held.close();
          for (const conn of idle) conn.close();
        }
        // Accepting again needs a descriptor, which frees up only as the idle
        // connections close: retry the fresh request until the deadline.
        const deadline = Date.now() + RECOVERY_MS;
        let lastError: unknown;
        while (Date.now() < deadline && !running.status) {
          try {
            await answers(server, running.port);
            lastError = undefined;
            break;
          } catch (error) {
            lastError = error;
          }
        }
        assert.equal(
          lastError,
          undefined,
          `No answer once the idle clients had gone: ${lastError}${describeExit(running)}`,
        );
        assert.equal(running.status, undefined, `the server exited${describeExit(running)}`);
        // Retrying at once fails at once: a server that does not back off spins
        // and says so thousands of times.
        const complaints = running.stderr.text.split("\n").filter((line) => /open files/i.test(line)).length;
        assert.ok(
          complaints <= 5,
          `the server reported running out of descriptors ${complaints} times (${running.stderr.bytes} bytes on stderr): it retries without backing off`,
        );
      }),
  });
}
