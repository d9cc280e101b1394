/**
 * Labs left behind by runs that were killed outright (SIGKILL, a crash):
 * such a run cleans nothing up, so its namespaces, their veths and nft
 * tables, and whatever it started in them (a server waiting for clients, a
 * capture) stay. A lab's name ends in its owner's pid, `netkata-<name>-<pid>`:
 * a lab whose owner no longer exists is stale.
 *
 * @module
 */

import { runTool, ToolError } from "../tools/runner.ts";

/** A lab's namespace name; the owner's pid comes last. */
const LAB_NAME = /^netkata-.+-(\d+)$/;

/**
 * Removes the labs left behind by runs that died without cleaning up: every
 * `netkata-<name>-<pid>` namespace whose owner `<pid>` no longer exists. The
 * processes still running inside are killed first (a namespace lives on as
 * long as a process holds it), and its veths and nft tables go with it.
 * Labs of live runs (another terminal, a concurrent test suite) are left
 * alone. Returns the names removed; `onNotice` hears about them in one line.
 *
 * @example
 * ```ts ignore
 * await removeStaleLabs({ onNotice: (line) => console.error(line) });
 * ```
 */
export async function removeStaleLabs(
  options: { onNotice?: (notice: string) => void } = {},
): Promise<string[]> {
  const notify = options.onNotice ?? console.error;
  let listing: string;
  try {
    listing = (await runTool("ip", ["netns", "list"], { timeoutMs: 10_000 })).stdout;
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    // No ip, no privileges: Lab.create says so in a moment. Anything else
    // is worth a line: stale labs stay until the next start.
    if (!["missing", "privileges"].includes(error.kind)) notify(`Could not look for stale labs: ${error.message}`);
    return [];
  }
  const alive = new Map<number, Promise<boolean>>();
  const stale: string[] = [];
  for (const name of listing.split("\n").map((line) => line.trim().split(/\s+/)[0])) {
    const owner = Number(LAB_NAME.exec(name)?.[1]);
    if (!owner || owner === Deno.pid) continue;
    if (!alive.has(owner)) alive.set(owner, isAlive(owner));
    if (!await alive.get(owner)) stale.push(name);
  }
  const removed: string[] = [];
  let stopped = 0;
  for (const name of stale) {
    try {
      stopped += await killEverythingIn(name);
      await runTool("ip", ["netns", "delete", name], { timeoutMs: 10_000 });
      removed.push(name);
    } catch (error) {
      // Another run removing the same stale lab at the same moment got there first.
      if (!(error instanceof ToolError && /No such file|Invalid/.test(error.message))) throw error;
    }
  }
  if (removed.length > 0) {
    const processes = stopped === 0
      ? "nothing was still running in them"
      : `stopped ${stopped} process${stopped === 1 ? "" : "es"} still running in them`;
    notify(
      `Removed ${removed.length} lab${removed.length === 1 ? "" : "s"} left behind by killed runs (${
        removed.join(", ")
      }); ${processes}`,
    );
  }
  return removed;
}

/**
 * Whether process `pid` exists. `ip netns identify` opens its
 * /proc/<pid>/ns/net and fails with "No such file" only when it is gone;
 * unlike a signal, asking has no effect on whatever process has the pid.
 */
async function isAlive(pid: number): Promise<boolean> {
  try {
    await runTool("ip", ["netns", "identify", String(pid)], { timeoutMs: 10_000 });
    return true;
  } catch (error) {
    if (error instanceof ToolError && /No such file/.test(error.message)) return false;
    // Any other answer (no permission to look): assume alive, touch nothing.
    if (error instanceof ToolError) return true;
    throw error;
  }
}

/**
 * SIGKILLs every process in namespace `name` and waits until none is left
 * in it (a killed process leaves its namespaces as it exits, a moment
 * later). Returns how many there were.
 */
async function killEverythingIn(name: string): Promise<number> {
  const pidsIn = async () => {
    try {
      const { stdout } = await runTool("ip", ["netns", "pids", name], { timeoutMs: 10_000 });
      return stdout.split(/\s+/).filter(Boolean).map(Number);
    } catch (error) {
      // It fails, silently, once the namespace is gone: removed by another run.
      if (error instanceof ToolError && error.kind === "failed") return [];
      throw error;
    }
  };
  const pids = await pidsIn();
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  // There is no event for "a process that is not our child has exited":
  // look again, briefly, until the namespace is empty.
  const deadline = Date.now() + 5_000;
  while ((await pidsIn()).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pids.length;
}
