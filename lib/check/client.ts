/**
 * Client katas: the implementation under test is a program that is run
 * once per case against the kit's fixture server, and judged by its exit
 * status and output.
 *
 * @module
 */

import type { ByteWriter } from "../net/io.ts";
import { splitCommand, TargetError } from "./target.ts";

/** A client run in-process: the reference exports one as `run`. */
export type RunClient = (
  args: string[],
  output: { stdout: ByteWriter; stderr: ByteWriter },
) => Promise<number>;

/** Which client to grade. */
export type ClientSpec =
  | { kind: "module"; label: string; run: RunClient }
  | { kind: "command"; command: string }
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

/** A client ready to run against a URL. */
export interface ClientUnderTest {
  readonly label: string;
  /**
   * Runs the client once with `url`; `port` is the fixture's, for
   * permissions. A client still running after `timeoutMs` is stopped.
   */
  run(url: string, port: number, timeoutMs?: number): Promise<ClientResult>;
}

/** How long one run of a client may take. */
export const CLIENT_TIMEOUT_MS = 10_000;

/** Prepares `spec` for running; throws `TargetError` for a command without {url}. */
export function clientUnderTest(spec: ClientSpec): ClientUnderTest {
  switch (spec.kind) {
    case "module":
      return {
        label: spec.label,
        run: (url, _port, timeoutMs) => runInProcess(spec.run, url, timeoutMs),
      };
    case "command":
      if (!spec.command.includes("{url}")) {
        throw new TargetError(
          `The command must say where the URL goes: put {url} in it, e.g. --cmd "./client {url}"`,
        );
      }
      return {
        label: `\`${spec.command}\``,
        run: (url, _port, timeoutMs) =>
          runProcess(
            splitCommand(spec.command.replaceAll("{url}", url)),
            timeoutMs,
          ),
      };
    case "deno-file":
      return {
        label: spec.path,
        // Network access to loopback names and the fixture's port only (by
        // name, by IPv4 address, by IPv6 literal); no files, no environment,
        // no subprocesses. Bare "localhost" lets the attempt resolve the
        // name, as getaddrinfo would.
        run: (url, port, timeoutMs) =>
          runProcess([
            Deno.execPath(),
            "run",
            "--no-prompt",
            `--allow-net=localhost,127.0.0.1:${port},localhost:${port},[::1]:${port}`,
            spec.path,
            url,
          ], timeoutMs),
      };
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

  /** Reads `stream` to its end, keeping what fits; reading on keeps the writer from blocking. */
  async drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const chunk of stream) await this.write(chunk);
    } catch {
      // The process was killed mid-write; what we have is enough.
    }
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
): Promise<ClientResult> {
  const stdout = new Collector(MAX_CLIENT_OUTPUT_BYTES);
  const stderr = new Collector(MAX_CLIENT_ERROR_BYTES);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs));
  const running = run([url], { stdout, stderr });
  running.catch(() => {});
  try {
    const outcome = await Promise.race([running, timeout]);
    const decoded = new TextDecoder().decode(stderr.bytes());
    const printed = { stdout: stdout.bytes(), stdoutTruncated: stdout.truncated, stderr: decoded };
    return outcome === "timeout" ? { code: null, ...printed, timedOut: true } : {
      code: outcome,
      ...printed,
      timedOut: false,
    };
  } catch (error) {
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
  }
}

async function runProcess(
  argv: string[],
  timeoutMs = CLIENT_TIMEOUT_MS,
): Promise<ClientResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TargetError(
        `Cannot run ${argv[0]}: no such program. Check the command, or give the program's full path`,
      );
    }
    throw error;
  }
  const stdout = new Collector(MAX_CLIENT_OUTPUT_BYTES);
  const stderr = new Collector(MAX_CLIENT_ERROR_BYTES);
  const drained = Promise.all([stdout.drain(child.stdout), stderr.drain(child.stderr)]);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // It exited just now.
    }
  }, timeoutMs);
  try {
    const status = await child.status;
    await drained;
    return {
      code: timedOut ? null : status.code,
      stdout: stdout.bytes(),
      stdoutTruncated: stdout.truncated,
      stderr: new TextDecoder().decode(stderr.bytes()),
      timedOut,
    };
  } finally {
    clearTimeout(timer);
  }
}
