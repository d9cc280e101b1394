/**
 * Servers under benchmark run as their own processes, pinned to core 0
 * where `taskset` exists, so that the load generator (core 1) and the
 * server do not fight over one core and their CPU use can be told apart.
 *
 * @module
 */

import { splitCommand } from "../check/target.ts";
import { freePort, waitForListen } from "../net/ports.ts";

/** Prefixes a command so it runs on one core; unchanged where taskset is missing. */
export type Pin = (core: number, argv: string[]) => string[];

/** Finds out whether commands can be pinned to cores here. */
export async function pinner(): Promise<Pin> {
  try {
    const probe = await new Deno.Command("taskset", {
      args: ["-c", "0", "true"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    if (probe.success && navigator.hardwareConcurrency >= 2) {
      return (core, argv) => ["taskset", "-c", String(core), ...argv];
    }
  } catch {
    // No taskset: run unpinned.
  }
  return (_core, argv) => argv;
}

/** A server started for a benchmark. */
export interface BenchServerProcess extends AsyncDisposable {
  readonly pid: number;
  readonly port: number;
  /** Stops it (SIGKILL: its figures are already taken) and waits. */
  stop(): Promise<void>;
}

/**
 * Starts `command` (with `{port}` replaced by a free port) on core 0 and
 * waits until it listens. The soft limit on open files is raised first, so
 * that a server can hold 10 000 connections where the hard limit allows.
 * Throws an Error with the server's own output when it does not start.
 */
export async function startBenchServer(
  command: string,
  pin: Pin,
): Promise<BenchServerProcess> {
  const port = freePort();
  const argv = pin(0, splitCommand(command.replaceAll("{port}", String(port))));
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`,
      "sh",
      ...argv,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
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
  const listening = await waitForListen("127.0.0.1", port, {
    timeoutMs: 15_000,
    exited: child.status,
  });
  if (listening !== "listening") {
    await stop();
    throw new Error(`did not listen (${listening}): ${(await stderr).trim()}`);
  }
  return { pid: child.pid, port, stop, [Symbol.asyncDispose]: stop };
}
