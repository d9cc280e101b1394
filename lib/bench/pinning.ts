/**
 * Where a benchmark's processes run. The server under test gets one core
 * and the load generator another, so that they do not fight over one core
 * and a saturated client cannot pass for a slow server; each one's CPU use
 * then tells which of them was the limit. A process is pinned after it has
 * started (`taskset -a -p`, every thread it has; threads it starts later
 * inherit the core), through the tool runner like every other tool. Where
 * there is one core, or no taskset, nothing is pinned and the report says so.
 *
 * @module
 */

import { coreBusy, type CoreTime, coreTimes } from "../tools/process_stats.ts";
import { runTool, ToolError } from "../tools/runner.ts";
import { type Spread, spread } from "./rounds.ts";

/** How a benchmark places its processes. */
export interface Pinning {
  /** The server's core and the load generator's, when pinned. */
  readonly cores?: { server: number; load: number };
  /** One sentence for the report: where things run, or why nothing is pinned. */
  readonly description: string;
  /** Pins every thread of the server process `pid` to the server's core; does nothing when unpinned. */
  server(pid: number): Promise<void>;
  /** Pins every thread of the load generator `pid` to its core; does nothing when unpinned. */
  load(pid: number): Promise<void>;
}

/**
 * Chooses cores from those this process may run on: the first for the
 * server, the second for the load generator.
 *
 * @example
 * ```ts ignore
 * import { choosePinning } from "./pinning.ts";
 * const pinning = await choosePinning();
 * console.log(pinning.description); // "server pinned to CPU 0, load generator to CPU 1"
 * await pinning.server(serverPid);
 * ```
 */
export async function choosePinning(): Promise<Pinning> {
  const unpinned = (why: string): Pinning => ({
    description: `not pinned: ${why}`,
    server: async () => {},
    load: async () => {},
  });
  if (Deno.build.os !== "linux") return unpinned("pinning to cores needs Linux");
  let allowed: number[];
  try {
    allowed = parseCpuList((await runTool("taskset", ["-c", "-p", String(Deno.pid)])).stdout);
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    return unpinned(error.message);
  }
  if (allowed.length < 2) {
    return unpinned(`only one core (CPU ${allowed[0]}) is available, so server and load generator share it`);
  }
  const [server, load] = allowed;
  const pin = (core: number) => async (pid: number) => {
    // The main thread first: threads it starts from now on inherit its core.
    await runTool("taskset", ["-c", "-p", String(core), String(pid)]);
    // Then every thread it has. taskset lists the threads, then pins each:
    // a thread that ends in between (a thread-per-connection server's, say)
    // fails the run, and the next try no longer sees it; under steady churn
    // a few tries in a row can fail, each on another thread.
    for (let attempt = 1;; attempt++) {
      try {
        return void await runTool("taskset", ["-a", "-c", "-p", String(core), String(pid)]);
      } catch (error) {
        if (!(error instanceof ToolError && error.kind === "failed" && attempt < 20)) throw error;
      }
    }
  };
  return {
    cores: { server, load },
    description: `server pinned to CPU ${server}, load generator to CPU ${load}` +
      (allowed.length > 2 ? "" : " (the machine's only two: anything else running shares them)"),
    server: pin(server),
    load: pin(load),
  };
}

/**
 * The CPUs in `taskset -c -p` output ("pid 42's current affinity list:
 * 0,2-3"), in order.
 *
 * @example
 * ```ts
 * import { parseCpuList } from "./pinning.ts";
 * parseCpuList("pid 42's current affinity list: 0,2-3\n"); // [0, 2, 3]
 * ```
 */
export function parseCpuList(output: string): number[] {
  const list = /affinity list:\s*([\d,-]+)/.exec(output);
  if (!list) throw new SyntaxError(`Cannot read taskset's affinity list: ${output.trim()}`);
  return list[1].split(",").flatMap((part) => {
    const [from, to = from] = part.split("-").map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** How busy the server's and the load generator's cores were during a measurement, whoever kept them busy. */
export interface CoresBusy {
  /** The server's core, from 0 to 1: above the server's own CPU share, other processes had it. */
  serverCoreBusy?: number;
  /** The load generator's core, from 0 to 1: near 1, the load side may be what limits the rate. */
  loadCoreBusy?: number;
}

/**
 * Starts watching the pinned cores; the function it returns says how busy
 * they were since (nothing when unpinned).
 *
 * @example
 * ```ts ignore
 * import { watchCores } from "./pinning.ts";
 * const cores = await watchCores(pinning);
 * // … the measured run …
 * const { serverCoreBusy, loadCoreBusy } = await cores();
 * ```
 */
export async function watchCores(pinning: Pinning): Promise<() => Promise<CoresBusy>> {
  const { cores } = pinning;
  if (!cores) return () => Promise.resolve({});
  const before: CoreTime[] | undefined = await coreTimes();
  return async () => {
    const after = await coreTimes();
    return { serverCoreBusy: coreBusy(before, after, cores.server), loadCoreBusy: coreBusy(before, after, cores.load) };
  };
}

/**
 * The medians of how busy the server's and the load generator's cores
 * were, whoever kept them busy, for a report's column.
 *
 * @example
 * ```ts
 * import { formatCoresBusy } from "./pinning.ts";
 * formatCoresBusy({ median: 0.95, min: 0.9, max: 1, rounds: 3 }, { median: 1, min: 1, max: 1, rounds: 3 }); // "95%, 100%"
 * ```
 */
export function formatCoresBusy(server: Spread | undefined, load: Spread | undefined): string {
  if (!server || !load) return "–";
  return `${Math.round(server.median * 100)}%, ${Math.round(load.median * 100)}%`;
}

/**
 * A warning when, on the median measurement, the server's core spent more
 * than half its time on something else than the server (other processes,
 * or the kernel's packet work): the absolute figures then describe the
 * machine's load more than the servers. Undefined when all is well or
 * nothing is known.
 *
 * @example
 * ```ts
 * import { contentionWarning } from "./pinning.ts";
 * contentionWarning([{ serverCpu: 0.1, serverCoreBusy: 1 }]); // "Warning: the server's core was busy with other work 90% of the time…"
 * ```
 */
export function contentionWarning(
  measurements: readonly (CoresBusy & { serverCpu?: number; error?: string })[],
): string | undefined {
  const others = measurements.flatMap((m) =>
    !m.error && m.serverCoreBusy !== undefined && m.serverCpu !== undefined ? [m.serverCoreBusy - m.serverCpu] : []
  );
  const median = spread(others)?.median;
  if (median === undefined || median <= 0.5) return undefined;
  return `Warning: the server's core was busy with other work ${Math.round(median * 100)}% of the time ` +
    "(median over the measurements: other processes, and the kernel's packet work). The absolute figures " +
    "describe the machine's load more than the servers; ratios within a round and CPU per request hold up better.";
}
