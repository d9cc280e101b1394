/**
 * Who listens on a port: the processes behind a listening socket, from
 * `ss`, through the tool runner. (The runner itself reads /proc through
 * `process_stats.ts`, so this is not there: the two would import each other.)
 *
 * @module
 */

import { runTool } from "./runner.ts";

/**
 * The processes that hold a socket listening on TCP `port` of this machine
 * (`ss -ltnp`, through the tool runner); empty when none of them is ours to
 * see. Throws ToolError where ss is missing or may not run.
 *
 * @example
 * ```ts ignore
 * import { listeningProcesses } from "./listeners.ts";
 * const pids = await listeningProcesses(9000); // [4242]
 * ```
 */
export async function listeningProcesses(port: number): Promise<number[]> {
  const { stdout } = await runTool("ss", ["-H", "-l", "-t", "-n", "-p", `sport = :${port}`], { timeoutMs: 10_000 });
  const pids = [...stdout.matchAll(/\bpid=(\d+)/g)].map((match) => Number(match[1]));
  return [...new Set(pids)];
}
