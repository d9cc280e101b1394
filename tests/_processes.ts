/**
 * Looking at our own processes: who a process's children are, what they
 * run, whether they are still alive. Tests find the processes they care
 * about by walking down the process tree from a PID they started, never by
 * matching names across the whole machine, where another run's processes
 * live too. (Deno asks for --allow-all before reading another process's
 * /proc files, so this asks `ps`.)
 *
 * @module
 */

import { hasProgram } from "./_support.ts";

/** A process, named by its PID and start time so that a reused PID is not mistaken for it. */
export interface ProcessRef {
  readonly pid: number;
  readonly started: string;
}

interface PsLine extends ProcessRef {
  ppid: number;
  state: string;
  args: string;
}

/** Whether `ps` can tell us about processes here. */
export const canSeeProcesses = Deno.build.os === "linux" && await hasProgram("ps", ["-p", "1"]);

/** Every process `ps` sees now, or just `pids`. */
async function ps(pids?: readonly number[]): Promise<PsLine[]> {
  const select = pids ? ["-p", pids.join(",")] : ["-e"];
  const output = await new Deno.Command("ps", {
    args: ["-ww", ...select, "-o", "pid=,ppid=,stat=,lstart=,args="],
    env: { LC_ALL: "C" },
    stdout: "piped",
    stderr: "null",
  }).output();
  // ps exits 1 when none of `pids` exists: that is an empty answer.
  const lines = new TextDecoder().decode(output.stdout).split("\n").filter((line) => line.trim() !== "");
  return lines.map((line) => {
    // "  PID  PPID STAT Fri Nov 27 05:22:24 2026 ARGS…": lstart is five words.
    const words = line.trim().split(/\s+/);
    return {
      pid: Number(words[0]),
      ppid: Number(words[1]),
      state: words[2],
      started: words.slice(3, 8).join(" "),
      args: words.slice(8).join(" "),
    };
  });
}

/** Every process below `root` (children, their children, …) with its command line. */
export async function descendantsOf(root: number): Promise<(ProcessRef & { args: string })[]> {
  const children = new Map<number, PsLine[]>();
  for (const line of await ps()) {
    const siblings = children.get(line.ppid) ?? [];
    siblings.push(line);
    children.set(line.ppid, siblings);
  }
  const found: PsLine[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** The first process below `root` whose command line satisfies `test`. */
export async function findDescendant(
  root: number,
  test: (args: string) => boolean,
): Promise<ProcessRef | undefined> {
  return (await descendantsOf(root)).find((process) => test(process.args));
}

/** Names `pid` as it is now; undefined when it is gone. */
export async function processRef(pid: number): Promise<ProcessRef | undefined> {
  const [line] = await ps([pid]);
  return line && { pid: line.pid, started: line.started };
}

/**
 * Whether `process` still runs. A zombie does not: it has exited, and only
 * waits for a parent to collect its status (where PID 1 does not reap
 * orphans, a killed orphan stays a zombie).
 */
export async function isRunning(process: ProcessRef): Promise<boolean> {
  const [line] = await ps([process.pid]);
  if (!line || line.started !== process.started) return false;
  return !line.state.startsWith("Z") && !line.state.startsWith("X");
}

/**
 * Waits until none of `processes` runs, up to `timeoutMs`; returns those
 * still running then. A process sent SIGKILL a moment ago may still be on
 * its way out; this waits for that, not for anything to happen by itself.
 */
export async function stillRunningAfter(
  processes: readonly ProcessRef[],
  timeoutMs = 5_000,
): Promise<ProcessRef[]> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const running: ProcessRef[] = [];
    for (const process of processes) {
      if (await isRunning(process)) running.push(process);
    }
    if (running.length === 0 || Date.now() >= deadline) return running;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Polls `find` until it returns something, up to `timeoutMs`. */
export async function waitForProcess(
  find: () => Promise<ProcessRef | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<ProcessRef> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const found = await find();
    if (found) return found;
    if (Date.now() >= deadline) throw new Error(`No ${what} appeared within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Kills what a failed test left running, by PID, so it does not outlive the test. */
export async function killLeftovers(processes: readonly ProcessRef[]): Promise<void> {
  for (const process of processes) {
    if (!(await isRunning(process))) continue;
    try {
      Deno.kill(process.pid, "SIGKILL");
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}
