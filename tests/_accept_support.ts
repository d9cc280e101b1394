/**
 * What the accept-path tests share: a server process run as the learner runs
 * it, watched from the outside (its stderr, its answers), and the churn test
 * every reference's shortage message must pass: held at its descriptor limit
 * while clients come and go, a server says so once, not once per client.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readFull, writeAll } from "../lib/net/io.ts";
import { freePort, waitForListen } from "../lib/net/ports.ts";
import { StageFailure, withDeadline } from "../lib/check/stage.ts";

/** How long an answer, or a condition watched in /proc or on stderr, may take. */
export const ANSWER_MS = 10_000;

const encoder = new TextEncoder();

/** A server process under test: its port, its stderr so far, and a way to wait for a line. */
export class ServerProcess implements AsyncDisposable {
  stderr = "";
  status?: Deno.CommandStatus;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #pumped: Promise<void>;
  #changed = Promise.withResolvers<void>();

  constructor(readonly port: number, argv: string[]) {
    const [program, ...args] = argv;
    this.#child = new Deno.Command(program, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
    this.exited = this.#child.status.then((status) => this.status = status);
    this.#pumped = this.#pump();
  }

  /** The server's process id (prlimit execs the command, so this is Deno's). */
  get pid(): number {
    return this.#child.pid;
  }

  async #pump(): Promise<void> {
    try {
      for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
        if (this.stderr.length < 1024 * 1024) this.stderr += chunk;
        this.#changed.resolve();
        this.#changed = Promise.withResolvers();
      }
    } finally {
      this.#changed.resolve();
    }
  }

  /** Resolves once stderr has `count` lines matching `pattern`; throws if the process ends or `ANSWER_MS` pass. */
  async untilLines(pattern: RegExp, count: number): Promise<void> {
    const deadline = Date.now() + ANSWER_MS;
    while (linesMatching(this.stderr, pattern) < count) {
      if (this.status) assert.fail(`The server exited before printing ${pattern} ${count}×:${this.describe()}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        assert.fail(`The server did not print ${pattern} ${count}× within ${ANSWER_MS / 1000} s:${this.describe()}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#changed.promise, new Promise((resolve) => timer = setTimeout(resolve, left))]);
      clearTimeout(timer);
    }
  }

  /** Resolves once stderr has `count` lines matching `pattern`, or the process has ended; never rejects. */
  async whenLines(pattern: RegExp, count: number): Promise<void> {
    while (linesMatching(this.stderr, pattern) < count && !this.status) await this.#changed.promise;
  }

  /** Its exit, if it has exited, and what it printed. */
  describe(): string {
    const exit = this.status ? ` it exited (${this.status.signal ?? `status ${this.status.code}`});` : "";
    return `${exit} its stderr:\n${this.stderr.slice(-2000)}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.status) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // It exited on its own just now.
      }
    }
    await this.#child.status;
    await this.#pumped;
  }
}

export const linesMatching = (text: string, pattern: RegExp) =>
  text.split("\n").filter((line) => pattern.test(line)).length;

/** Starts `argv` (which takes the port last) and waits until it listens. */
export async function startServer(argv: string[]): Promise<ServerProcess> {
  const port = freePort();
  const server = new ServerProcess(port, [...argv, "--port", String(port)]);
  const listening = await waitForListen("127.0.0.1", port, { timeoutMs: 15_000, exited: server.exited });
  if (listening !== "listening") {
    await server[Symbol.asyncDispose]();
    throw new Error(`The server did not start (${listening}):${server.describe()}`);
  }
  return server;
}

/** Runs `promise`, failing with `what` if it takes over `ms` (`ANSWER_MS` unless said). */
export function within<T>(promise: Promise<T>, what: string, ms = ANSWER_MS): Promise<T> {
  return withDeadline(promise, ms, () => new StageFailure(`${what} took over ${ms / 1000} s`));
}

/** One echo round trip on `conn`; throws unless the bytes come back. */
export async function echoes(conn: Deno.TcpConn): Promise<void> {
  const payload = encoder.encode("still serving?\n");
  await writeAll(conn, payload);
  const echoed = new Uint8Array(payload.length);
  const n = await readFull(conn, echoed);
  assert.deepEqual(echoed.subarray(0, n), payload, "the echo did not come back");
}

/**
 * How many clients leave, each letting the next one in, while a server is
 * held at its limit: each round hits the limit anew, so a server that
 * reports per client says it this many times more.
 */
export const CHURN_ROUNDS = 3;
const GREETING = encoder.encode("let me in\n");

/** A client that sent its greeting on connecting; `echoed` is whether it came back (once the server took it in). */
export interface GreetingClient {
  conn: Deno.TcpConn;
  echoed: Promise<boolean>;
}

export async function greetingClient(port: number): Promise<GreetingClient> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, GREETING);
  const echo = new Uint8Array(GREETING.length);
  // False when the test closes it unanswered: a queued client's read ends then.
  const echoed = readFull(conn, echo).then((n) => n === GREETING.length, () => false);
  return { conn, echoed };
}

/**
 * The references' QUIET_BEFORE_NEWS_MS: how long a trouble must stay away
 * before it is said again. A test that wants it said again waits this long,
 * and a little more for the server's last retry.
 */
export const QUIET_BEFORE_NEWS_MS = 5_000;

/** Waits out {@linkcode QUIET_BEFORE_NEWS_MS}, by the test's own timer, and a second more. */
export const quietPeriod = (): Promise<unknown> =>
  new Promise((resolve) => setTimeout(resolve, QUIET_BEFORE_NEWS_MS + 1_000));

/**
 * Connects greeting clients one at a time, adding the echoed ones to
 * `served`, until one is left queued: every descriptor is taken, and the
 * server has said so (a line matching `shortage`) for the `said`-th time.
 * Returns the queued client.
 *
 * @example
 * ```ts ignore
 * const waiting = await fillUntilQueued(server, served, /^accept4 keeps failing/, 1);
 * ```
 */
export async function fillUntilQueued(
  server: ServerProcess,
  served: GreetingClient[],
  shortage: RegExp,
  said: number,
): Promise<GreetingClient> {
  while (true) {
    const client = await greetingClient(server.port);
    const outcome = await within(
      Promise.race([
        client.echoed.then((echoed) => echoed ? "served" : "closed"),
        server.whenLines(shortage, said).then(() => "queued"),
      ]),
      `an echo, or the line saying accept fails (${said}×)`,
    );
    assert.notEqual(outcome, "closed", `A client was closed unanswered:${server.describe()}`);
    if (outcome === "queued") return client;
    served.push(client);
  }
}

/**
 * The churn test: starts `argv` (an echo server taking `--port` last) under
 * `prlimit --nofile=<fileLimit>`, fills it until a client is left queued,
 * then lets clients come and go at the limit for `rounds` rounds; ends the shortage, waits out the quiet period, and fills it again.
 * The line matching `shortage` must have been said exactly twice: once per
 * shortage, not once per client.
 *
 * A server that ends its shortage at the first accept that works says it
 * per client: each client that leaves frees a descriptor, the next queued one
 * takes it, the limit is hit again at once, and the line is news again.
 *
 * @example
 * ```ts ignore
 * await saysOncePerShortage([Deno.execPath(), "run", "--allow-net", "reference.ts"], /cannot accept/, 256);
 * ```
 */
export async function saysOncePerShortage(
  argv: string[],
  shortage: RegExp,
  fileLimit: number,
  rounds = CHURN_ROUNDS,
): Promise<void> {
  await using server = await startServer(["prlimit", `--nofile=${fileLimit}`, ...argv]);
  const served: GreetingClient[] = [];
  let waiting: GreetingClient | undefined;
  try {
    waiting = await fillUntilQueued(server, served, shortage, 1);
    for (let round = 1; round <= rounds; round++) {
      // `next` queues behind `waiting`; a served client leaves; `waiting`
      // takes its descriptor, and the server, at its limit again, finds
      // `next` waiting: accept fails anew.
      const next = await greetingClient(server.port);
      served.shift()!.conn.close();
      assert.ok(
        await within(waiting.echoed, `the echo of the client let in on round ${round}`),
        `Round ${round}: the client let in got no echo:${server.describe()}`,
      );
      served.push(waiting);
      waiting = next;
    }
    // The shortage ends: a few leave, so `waiting` gets in and nobody is
    // left queued. Once it has stayed away, a new one is news again.
    for (const client of served.splice(0, 3)) client.conn.close();
    assert.ok(
      await within(waiting.echoed, "the echo of the last client queued"),
      "The last client queued got no echo",
    );
    served.push(waiting);
    waiting = undefined;
    await quietPeriod();
    waiting = await fillUntilQueued(server, served, shortage, 2);
  } finally {
    for (const client of [...served, ...(waiting ? [waiting] : [])]) client.conn.close();
  }
  await server[Symbol.asyncDispose](); // so that every line it printed has been read
  assert.equal(
    linesMatching(server.stderr, shortage),
    2,
    `The server should say it cannot accept twice, once per shortage, not per client:${server.describe()}`,
  );
}
