/**
 * Client katas: the implementation under test is a program that is run
 * once per case against the kit's fixture server, and judged by its exit
 * status and output.
 *
 * @module
 */

import type { ByteWriter } from "../net/io.ts";
import { PipeDrain } from "./process_group.ts";
import { clientNetFlags, parseListeningPorts, RESOLUTION_FLAGS } from "./sandbox.ts";
import { AttemptCopies } from "./attempt_copy.ts";
import { type SpawnOptions, spawnProgram, splitCommand, TargetError } from "./target.ts";

/** A client run in-process: the reference exports one as `run`. */
export type RunClient = (
  args: string[],
  output: { stdout: ByteWriter; stderr: ByteWriter },
) => Promise<number>;

/** Which client to grade. */
export type ClientSpec =
  | { kind: "module"; label: string; run: RunClient }
  /** `cwd`: the folder the command runs in (a learner's `./client` is in theirs); default the kit's. */
  | { kind: "command"; command: string; cwd?: string }
  | { kind: "deno-file"; path: string };

/** What one run of the client did. */
export interface ClientResult {
  /** Exit status; null when it had to be stopped. */
  code: number | null;
  /** What it printed, up to {@linkcode MAX_CLIENT_OUTPUT_BYTES}. */
  stdout: Uint8Array;
  /** It printed more than that; the rest was read and dropped. */
  stdoutTruncated: boolean;
  /** The start of what it said on stderr, up to {@linkcode MAX_CLIENT_ERROR_BYTES}. */
  stderr: string;
  timedOut: boolean;
}

/**
 * How much of a client's stdout is kept: three times the largest response
 * the fixture sends. A client gone wild may print without end; the checker
 * must not keep it all.
 */
export const MAX_CLIENT_OUTPUT_BYTES = 16 * 1024 * 1024;
/** How much of a client's stderr is kept: room for any sentence and most stack traces. */
export const MAX_CLIENT_ERROR_BYTES = 64 * 1024;

/** A client ready to run against a URL. Dispose it to remove what it made to run (a --file attempt's copies). */
export interface ClientUnderTest extends AsyncDisposable {
  readonly label: string;
  /**
   * Runs the client once with `url`; `port` is the fixture's, for
   * permissions. A client still running after `timeoutMs` is stopped. When
   * `signal` is aborted, the client is stopped and the run rejects with the
   * signal's reason.
   */
  run(url: string, port: number, timeoutMs?: number, signal?: AbortSignal): Promise<ClientResult>;
}

/** How long one run of a client may take. */
export const CLIENT_TIMEOUT_MS = 10_000;

/**
 * Why `command` cannot be run as a client: it does not say where the URL
 * goes. Undefined when it does. The command line checks this before starting
 * anything, to call it a usage error; {@linkcode clientUnderTest} checks it too.
 *
 * @example
 * ```ts ignore
 * missingUrlPlaceholder("./client"); // "The command must say where the URL goes: …"
 * missingUrlPlaceholder("./client {url}"); // undefined
 * ```
 */
export function missingUrlPlaceholder(command: string): string | undefined {
  if (command.includes("{url}")) return undefined;
  return `The command must say where the URL goes: put {url} in it, e.g. --cmd "./client {url}"`;
}

/**
 * Prepares `spec` for running; throws `TargetError` for a command without {url}.
 *
 * @example
 * ```ts ignore
 * import { clientUnderTest } from "./client.ts";
 * await using client = clientUnderTest({ kind: "command", command: "./client {url}" });
 * const result = await client.run("http://localhost:8080/ok", 8080);
 * ```
 */
export function clientUnderTest(spec: ClientSpec): ClientUnderTest {
  const nothingToRemove = () => Promise.resolve();
  switch (spec.kind) {
    case "module":
      return {
        label: spec.label,
        run: (url, _port, timeoutMs, signal) => runInProcess(spec.run, url, timeoutMs, signal),
        [Symbol.asyncDispose]: nothingToRemove,
      };
    case "command": {
      const missing = missingUrlPlaceholder(spec.command);
      if (missing) throw new TargetError(missing);
      return {
        label: `\`${spec.command}\``,
        run: (url, _port, timeoutMs, signal) =>
          runProcess(splitCommand(spec.command.replaceAll("{url}", url)), { timeoutMs, signal, cwd: spec.cwd }),
        [Symbol.asyncDispose]: nothingToRemove,
      };
    }
    case "deno-file": {
      // Each run reads the file afresh (it may be saved mid-check) and runs
      // a private copy of the bytes it read, whose imports were checked.
      const copies = new AttemptCopies(spec.path);
      return {
        label: spec.path,
        // Network access to the fixture's port only, by address or by the
        // name localhost; no files, no environment, no subprocesses.
        run: async (url, port, timeoutMs, signal) => {
          const attempt = await copies.checked();
          const result = await runProcess(
            [
              Deno.execPath(),
              "run",
              "--no-prompt",
              ...RESOLUTION_FLAGS,
              ...clientNetFlags(port, await listeningNow()),
              attempt.path,
              url,
            ],
            { timeoutMs, signal, denoAttempt: true },
          );
          return { ...result, stderr: attempt.shown(result.stderr) };
        },
        [Symbol.asyncDispose]: () => copies[Symbol.asyncDispose](),
      };
    }
  }
}

/** Keeps the first `limit` bytes written to it and counts the rest. */
class Collector implements ByteWriter {
  chunks: Uint8Array[] = [];
  kept = 0;
  truncated = false;
  constructor(readonly limit: number) {}

  write(bytes: Uint8Array): Promise<number> {
    const room = this.limit - this.kept;
    if (bytes.length > room) this.truncated = true;
    if (room > 0) {
      const part = bytes.slice(0, room);
      this.chunks.push(part);
      this.kept += part.length;
    }
    return Promise.resolve(bytes.length);
  }

  bytes(): Uint8Array {
    const all = new Uint8Array(
      this.chunks.reduce((sum, chunk) => sum + chunk.length, 0),
    );
    let offset = 0;
    for (const chunk of this.chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    return all;
  }
}

async function runInProcess(
  run: RunClient,
  url: string,
  timeoutMs = CLIENT_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<ClientResult> {
  signal?.throwIfAborted();
  const stdout = new Collector(MAX_CLIENT_OUTPUT_BYTES);
  const stderr = new Collector(MAX_CLIENT_ERROR_BYTES);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs));
  // Nothing to stop in-process: the run is only no longer waited for.
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {});
  const running = run([url], { stdout, stderr });
  running.catch(() => {});
  try {
    const outcome = await Promise.race([running, timeout, aborted]);
    const decoded = new TextDecoder().decode(stderr.bytes());
    const printed = { stdout: stdout.bytes(), stdoutTruncated: stdout.truncated, stderr: decoded };
    return outcome === "timeout" ? { code: null, ...printed, timedOut: true } : {
      code: outcome,
      ...printed,
      timedOut: false,
    };
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw error;
    // An in-process client that throws is what a crashing program would be.
    const message = error instanceof Error ? `${error.name}: ${error.message}\n    at (in-process)` : String(error);
    return {
      code: 1,
      stdout: stdout.bytes(),
      stdoutTruncated: stdout.truncated,
      stderr: message,
      timedOut: false,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort!);
  }
}

/**
 * Runs a client program to its exit. The run ends when the client exits:
 * whatever it left running in its process group is stopped then, and with
 * it the last holder of its output pipes. A client still running after
 * `timeoutMs` is killed, with everything it started.
 */
async function runProcess(
  argv: string[],
  { timeoutMs = CLIENT_TIMEOUT_MS, signal, ...spawning }: { timeoutMs?: number; signal?: AbortSignal } & SpawnOptions,
): Promise<ClientResult> {
  signal?.throwIfAborted();
  const group = spawnProgram(argv, spawning);
  const stdout = new Collector(MAX_CLIENT_OUTPUT_BYTES);
  const stderr = new Collector(MAX_CLIENT_ERROR_BYTES);
  const pipes = [
    new PipeDrain(group.child.stdout, (chunk) => stdout.write(chunk)),
    new PipeDrain(group.child.stderr, (chunk) => stderr.write(chunk)),
  ];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    group.kill();
  }, timeoutMs);
  const stop = () => group.kill();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    const status = await group.status;
    await group.kill();
    await Promise.all(pipes.map((pipe) => pipe.finish()));
    signal?.throwIfAborted();
    return {
      code: timedOut ? null : status.code,
      stdout: stdout.bytes(),
      stdoutTruncated: stdout.truncated,
      stderr: new TextDecoder().decode(stderr.bytes()),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", stop);
    await group.kill();
  }
}

/** How long `ss` or `cat` may take to say which ports listen. */
const LISTENERS_TIMEOUT_MS = 5_000;

/**
 * The TCP ports something listens on now (Linux), for the attempt's deny
 * list; undefined where that cannot be known, which denies every port of
 * the name instead. `ss` asks the kernel for listeners only (about 5 ms);
 * /proc/net/tcp, read with `cat` where `ss` is missing (Deno grants /proc
 * only with --allow-all), lists every socket, and after a benchmark's
 * thousands of TIME_WAIT sockets takes 30 ms.
 */
async function listeningNow(): Promise<Set<number> | undefined> {
  if (Deno.build.os !== "linux") return undefined;
  const text = async (program: string, args: string[]) => {
    try {
      const output = await new Deno.Command(program, {
        args,
        stdin: "null",
        stderr: "null",
        signal: AbortSignal.timeout(LISTENERS_TIMEOUT_MS),
      }).output();
      return new TextDecoder().decode(output.stdout);
    } catch {
      return ""; // not installed, or stuck past its time limit
    }
  };
  const listeners = await text("ss", ["-H", "-l", "-t", "-n"]);
  if (listeners) return parseListeningPorts(listeners);
  // Without IPv6, tcp6 is missing and cat fails on it, after printing tcp.
  const tables = await text("cat", ["/proc/net/tcp", "/proc/net/tcp6"]);
  return tables.includes("local_address") ? parseListeningPorts(tables) : undefined;
}
