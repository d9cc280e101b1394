/**
 * CPU time and memory of a running process, from Linux's /proc. Elsewhere
 * every figure is undefined and reports show "–".
 *
 * Deno grants /proc only with --allow-all, which no task of ours uses, so
 * the files are read by `cat` through the run permission the benchmark
 * already has.
 *
 * @module
 */

/** Clock ticks per second in /proc/PID/stat; 100 on every Linux we know of. */
const CLOCK_TICKS = 100;

async function readProc(
  pid: number | undefined,
  file: string,
): Promise<string | undefined> {
  try {
    const output = await new Deno.Command("cat", {
      args: [pid === undefined ? `/proc/${file}` : `/proc/${pid}/${file}`],
      stderr: "null",
    }).output();
    return output.success ? new TextDecoder().decode(output.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `sh -c SCRIPT sh PID` and returns what it printed, or undefined when
 * it could not run. For /proc reads over every thread (`task/*`), which
 * need the shell's glob.
 */
async function shellOverPid(script: string, pid: number): Promise<string | undefined> {
  try {
    const output = await new Deno.Command("sh", { args: ["-c", script, "sh", String(pid)], stderr: "null" }).output();
    return new TextDecoder().decode(output.stdout);
  } catch {
    return undefined;
  }
}

/**
 * The ids of the processes `pid` has started and that still run (Linux;
 * empty where unknown). Each thread keeps its own list of children, so every
 * thread's is read: a wrapper such as `go run` may start its server from any
 * of them.
 */
export async function childrenOf(pid: number): Promise<number[]> {
  const children = await shellOverPid('cat /proc/"$1"/task/*/children', pid);
  return children?.trim().split(/\s+/).filter(Boolean).map(Number) ?? [];
}

/**
 * The fields of a `/proc/PID/stat` (or `task/TID/stat`) line after the
 * command name, from the state on: the name (field 2) may hold spaces and
 * ")", so the fields are counted from the last ")".
 */
function fieldsAfterName(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/**
 * The state of process `pid` now, as /proc says it: "R" running or ready
 * to run, "S" sleeping, "T" stopped, …; undefined when it is gone or /proc
 * cannot be read.
 *
 * @example
 * ```ts ignore
 * import { processState } from "./process_stats.ts";
 * Deno.kill(pid, "SIGSTOP");
 * while (await processState(pid) !== "T") { } // a signal is delivered, not sent, at once
 * ```
 */
export async function processState(pid: number): Promise<string | undefined> {
  const stat = await readProc(pid, "stat");
  return stat === undefined ? undefined : fieldsAfterName(stat)[0];
}

/** CPU seconds (user + system) the process has used so far. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readProc(pid, "stat");
  if (stat === undefined) return undefined;
  const fields = fieldsAfterName(stat);
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * How long each thread of `pid` has been runnable so far, in seconds, by
 * thread id: running, or ready to run and waiting for a core (the first two
 * fields of `/proc/PID/task/TID/schedstat`). Unlike CPU time this does not
 * depend on how busy the machine is: a busy loop is runnable all the time,
 * even while other work keeps it off the CPU; an idle server hardly ever.
 * Undefined when it cannot be read (not Linux, no such process, a kernel
 * without scheduler statistics).
 *
 * @example
 * ```ts ignore
 * import { runnableSecondsByThread } from "./process_stats.ts";
 * const threads = await runnableSecondsByThread(Deno.pid); // Map { 1234 => 0.41, 1235 => 0.02, … }
 * ```
 */
export async function runnableSecondsByThread(pid: number): Promise<Map<number, number> | undefined> {
  // grep -H names each file: /proc/PID/task/TID/schedstat:RUN WAIT SLICES
  const text = await shellOverPid('grep -H . /proc/"$1"/task/*/schedstat', pid);
  const threads = new Map<number, number>();
  let ranAtAll = false;
  for (const line of text?.split("\n") ?? []) {
    const match = /\/task\/(\d+)\/schedstat:(\d+) (\d+)/.exec(line);
    if (!match) continue; // a thread that ended between the glob and grep
    const [running, waiting] = [Number(match[2]), Number(match[3])];
    threads.set(Number(match[1]), (running + waiting) / 1e9);
    ranAtAll ||= running > 0;
  }
  // A process that exists has run; all zeros is a kernel that does not count.
  return ranAtAll ? threads : undefined;
}

/** Every thread of `pid` and of the processes below it, with its runnable seconds so far; `pids` collects the processes. */
async function treeThreads(
  pid: number,
  into = new Map<number, number>(),
  pids: number[] = [],
): Promise<Map<number, number> | undefined> {
  const own = await runnableSecondsByThread(pid);
  if (own === undefined) return undefined;
  pids.push(pid);
  for (const [thread, seconds] of own) into.set(thread, seconds);
  for (const child of await childrenOf(pid)) await treeThreads(child, into, pids);
  return into;
}

/**
 * For `windowMs`, looks every 10 ms at the state of every
 * thread of `pids` (`/proc/PID/task/TID/stat`) and returns the fraction of
 * looks that found one runnable (state R: on a core, or waiting for one).
 * One shell does the looking, so the looks are not paced by this process.
 */
async function runnableLooks(pids: readonly number[], windowMs: number): Promise<number> {
  const script = `end=$(($(date +%s%N) + ${Math.round(windowMs)} * 1000000))
while [ "$(date +%s%N)" -lt "$end" ]; do
  for pid in "$@"; do cat /proc/"$pid"/task/*/stat 2>/dev/null; done
  echo .
  sleep 0.01
done`;
  let text = "";
  try {
    const output = await new Deno.Command("sh", {
      args: ["-c", script, "sh", ...pids.map(String)],
      stderr: "null",
    }).output();
    text = new TextDecoder().decode(output.stdout);
  } catch {
    return 0;
  }
  let looks = 0;
  let runnable = 0;
  let found = false;
  for (const line of text.split("\n")) {
    if (line === ".") {
      looks++;
      if (found) runnable++;
      found = false;
    } else if (fieldsAfterName(line)[0] === "R") {
      found = true;
    }
  }
  return looks > 0 ? runnable / looks : 0;
}

/**
 * The share of one core that `pid`, with every process below it, wanted
 * over the next `windowMs`: the seconds its threads were runnable (see
 * {@linkcode runnableSecondsByThread}) over the seconds that passed. Counted
 * thread by thread, for the threads alive at the end: a thread that ended
 * inside the window is left out rather than taking its earlier time with it
 * (a sum over the threads alive at each look would drop by it), and one that
 * began inside it counts from zero. A busy loop reads about 1 on a busy
 * machine too. And because the kernel credits time spent waiting for a
 * core only when the thread gets one, the window is also spent looking at
 * the threads' states every 10 ms: the share is the larger of the two, so
 * a busy loop kept off its core for the whole window still reads busy.
 * Undefined when it cannot be read.
 *
 * @example
 * ```ts ignore
 * import { busyShare } from "./process_stats.ts";
 * const busy = await busyShare(serverPid, 250);
 * if (busy && busy.share > 0.2) console.log("spinning while idle");
 * ```
 */
export async function busyShare(
  pid: number,
  windowMs: number,
): Promise<{ share: number; seconds: number } | undefined> {
  const pids: number[] = [];
  const before = await treeThreads(pid, new Map(), pids);
  if (before === undefined) return undefined;
  const started = performance.now();
  // The window is spent looking: see below why the counters alone miss some.
  const looked = await runnableLooks(pids, windowMs);
  const after = await treeThreads(pid);
  if (after === undefined) return undefined;
  const seconds = (performance.now() - started) / 1000;
  let runnable = 0;
  for (const [thread, now] of after) {
    const then = before.get(thread) ?? 0;
    // Less than before: the id was reused by a new thread, which began inside the window.
    runnable += now >= then ? now - then : now;
  }
  // The kernel adds a thread's time waiting for a core to its counter only
  // once it gets one: a busy loop kept off its core for the whole window
  // shows no time at all in it. The looks see it runnable all along.
  return { share: Math.max(runnable / seconds, looked), seconds };
}

/** Resident memory now (`VmRSS`) and at its peak (`VmHWM`), in bytes. */
export async function memory(
  pid: number,
): Promise<{ rss?: number; peak?: number }> {
  const status = await readProc(pid, "status");
  if (status === undefined) return {};
  const kib = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

/** What /proc/PID/status says of a process now. */
export interface ProcessStatus {
  /** Resident memory (`VmRSS`), in bytes. */
  rss: number;
  /** Threads of the process (`Threads`), itself included. */
  threads: number;
}

/**
 * Resident memory and thread count of `pid` now; undefined when the
 * process is gone or /proc cannot be read (not Linux, no run permission).
 *
 * @example
 * ```ts ignore
 * import { processStatus } from "./process_stats.ts";
 * const status = await processStatus(Deno.pid); // { rss: 41_000_000, threads: 7 }
 * ```
 */
export async function processStatus(pid: number): Promise<ProcessStatus | undefined> {
  const status = await readProc(pid, "status");
  if (status === undefined) return undefined;
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
  const threads = /^Threads:\s+(\d+)/m.exec(status);
  if (!rss || !threads) return undefined;
  return { rss: Number(rss[1]) * 1024, threads: Number(threads[1]) };
}

/** A process's limit on open files (`ulimit -n`): soft, and the hard ceiling the soft one may be raised to. */
export interface OpenFilesLimit {
  soft: number;
  hard: number;
}

/**
 * The open-file limit of `pid`, from /proc/PID/limits ("unlimited" is
 * Infinity); undefined where that cannot be read.
 *
 * @example
 * ```ts ignore
 * import { openFilesLimit } from "./process_stats.ts";
 * const limit = await openFilesLimit(Deno.pid); // { soft: 1048576, hard: 1048576 }
 * ```
 */
export async function openFilesLimit(pid: number): Promise<OpenFilesLimit | undefined> {
  const limits = await readProc(pid, "limits");
  const match = limits && /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits);
  if (!match) return undefined;
  const value = (text: string) => text === "unlimited" ? Infinity : Number(text);
  return { soft: value(match[1]), hard: value(match[2]) };
}

/** One core's time since boot, in clock ticks: busy (anything but idle and I/O wait) and in all. */
export interface CoreTime {
  busy: number;
  total: number;
}

/**
 * Every core's time since boot from /proc/stat, indexed by CPU number; two
 * readings tell how busy a core was in between, whoever kept it busy.
 *
 * @example
 * ```ts ignore
 * import { coreBusy, coreTimes } from "./process_stats.ts";
 * const before = await coreTimes();
 * // … the run …
 * console.log(coreBusy(before, await coreTimes(), 0)); // e.g. 0.93: CPU 0 was busy 93% of the time
 * ```
 */
export async function coreTimes(): Promise<CoreTime[] | undefined> {
  const stat = await readProc(undefined, "stat");
  if (stat === undefined) return undefined;
  const cores: CoreTime[] = [];
  for (const match of stat.matchAll(/^cpu(\d+) (.*)$/gm)) {
    // user nice system idle iowait irq softirq steal …
    const ticks = match[2].trim().split(/\s+/).slice(0, 8).map(Number);
    const total = ticks.reduce((sum, n) => sum + n, 0);
    cores[Number(match[1])] = { busy: total - ticks[3] - ticks[4], total };
  }
  return cores;
}

/** How busy `core` was between two readings of {@linkcode coreTimes}, from 0 to 1; undefined if unknown. */
export function coreBusy(
  before: CoreTime[] | undefined,
  after: CoreTime[] | undefined,
  core: number,
): number | undefined {
  const [from, to] = [before?.[core], after?.[core]];
  if (!from || !to || to.total === from.total) return undefined;
  return (to.busy - from.busy) / (to.total - from.total);
}
