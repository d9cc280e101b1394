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

import { runTool, ToolError } from "../tools/runner.ts";

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
    await runTool("taskset", ["-a", "-c", "-p", String(core), String(pid)]);
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
