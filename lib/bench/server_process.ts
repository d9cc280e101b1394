/**
 * A server under benchmark runs as its own process, started fresh for each
 * measurement and pinned to the server's core once it listens.
 *
 * This is one of the few places that start a process without the tool
 * runner (see `lib/tools/registry.ts`): the servers under test are what is
 * measured — the kit's references, their C builds, nginx, a learner's
 * `--cmd` — not tools.
 *
 * No `ulimit` is needed for 10 000 connections: Deno raises its own soft
 * limit on open files to the hard limit at start-up, and every process it
 * starts inherits that.
 *
 * @module
 */

import { splitCommand } from "../check/target.ts";
import { freePort, waitForListen } from "../net/ports.ts";
import type { Pinning } from "./pinning.ts";

/** A server to measure: a name and a command with `{port}`. */
export interface BenchServer {
  name: string;
  command: string;
  /** Called with the port before the command starts (nginx writes its configuration here). */
  prepare?: (port: number) => Promise<void>;
}

/** A server under test did not start; the message says why, with what it printed. */
export class ServerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerStartError";
  }
}

/** A server started for a benchmark. */
export interface BenchServerProcess extends AsyncDisposable {
  readonly pid: number;
  readonly port: number;
  /** Stops it (SIGKILL: its figures are already taken) and waits. */
  stop(): Promise<void>;
}

/**
 * Starts `server` with `{port}` replaced by a free port, waits until it
 * listens, and pins it. Throws {@linkcode ServerStartError} with the
 * server's own output when it does not start, and the tool runner's
 * `ToolError` when it cannot be pinned.
 *
 * @example
 * ```ts ignore
 * import { choosePinning } from "./pinning.ts";
 * import { startBenchServer } from "./server_process.ts";
 * await using server = await startBenchServer({ name: "nc", command: "./echo {port}" }, await choosePinning());
 * console.log(server.port);
 * ```
 */
export async function startBenchServer(
  server: BenchServer,
  pinning: Pinning,
): Promise<BenchServerProcess> {
  const port = freePort();
  await server.prepare?.(port);
  const [program, ...args] = splitCommand(server.command.replaceAll("{port}", String(port)));
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new ServerStartError(`${program} is not installed or not on PATH`);
    throw error;
  }
  const stderr = new Response(child.stderr).text().catch(() => "");
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await stderr;
  };
  try {
    const listening = await waitForListen("127.0.0.1", port, { timeoutMs: 15_000, exited: child.status });
    if (listening !== "listening") {
      await stop(); // so that all it printed is in
      throw new ServerStartError(`did not listen (${listening}): ${(await stderr).trim()}`);
    }
    await pinning.server(child.pid);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid, port, stop, [Symbol.asyncDispose]: stop };
}
