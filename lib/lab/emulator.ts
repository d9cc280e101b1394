/**
 * Joining two labs through the kit's own link emulator (./emulator/main.ts)
 * instead of a veth pair: the path where netem is missing (WSL2, many
 * containers and CI runners, this kernel) and delay, rate and loss are
 * still wanted. The emulator runs inside the first lab, under the tool
 * runner's time limit like every tool, so neither Ctrl-C, SIGKILL of the
 * kit nor a crash leaves it running: the lab stops it, its lifetime ends
 * it, or the stale-lab cleanup kills it with the namespace it lives in.
 *
 * @example
 * ```ts ignore
 * const link = await emulatedLink(client, server, { config: { forward: { delayMs: 20 }, reverse: { delayMs: 20 } }, lifetimeMs: 60_000 });
 * // … traffic between 198.18.0.1 and 198.18.0.2 …
 * const counters = await link.stop();
 * ```
 *
 * @module
 */

import { ToolError, type ToolProcess } from "../tools/runner.ts";
import { type Lab, LabUnavailable } from "./lab.ts";
import type { Link } from "./link.ts";
import { type EmulatorConfig, READY } from "./emulator/main.ts";
import type { DirectionCounters } from "./emulator/shaper.ts";

export type { EmulatorConfig } from "./emulator/main.ts";
export type { BurstLoss, DirectionCounters, DirectionSettings } from "./emulator/shaper.ts";

/** What the emulator did while it ran. */
export interface EmulatorReport {
  counters: { forward: DirectionCounters; reverse: DirectionCounters };
  seconds: number;
  /** CPU time the emulator used (user and system), s. */
  cpuSeconds: number;
  /** What the scheduler granted it: real-time (SCHED_FIFO 1), nice -10, or nothing. */
  priority?: "realtime" | "nice" | "none";
  /**
   * Packets the kernel dropped before the emulator read them, per end
   * (a full device queue: the emulator did not keep up). Never asked for:
   * when not 0, the path lost more than it was told to.
   */
  kernelDrops?: { first: number; second: number };
}

/** Options for {@linkcode emulatedLink}. */
export interface EmulatedLinkOptions {
  config: EmulatorConfig;
  /** The emulator stops by itself after this long, whatever became of the kit. */
  lifetimeMs: number;
  /** The first lab's address. @default {"198.18.0.1"} */
  first?: string;
  /** The second lab's address. @default {"198.18.0.2"} */
  second?: string;
  /** Seed for the emulator's random decisions, for repeatable runs. */
  seed?: number;
}

/** A link through the emulator: stop it to read its counters. */
export interface EmulatedLink extends Link, AsyncDisposable {
  /** Stops the emulator (the devices go with it) and returns what it counted. */
  stop(): Promise<EmulatorReport | undefined>;
  /**
   * Aborted when the emulator ends before {@linkcode EmulatedLink.stop}
   * (it crashed, or was killed): its devices, and with them the labs'
   * addresses and every connection between them, are gone. The reason is
   * a {@linkcode ToolError} saying so in one sentence, with the emulator's
   * own last words. Pass it to the runs over the link: without it, a
   * client waits for a peer it can no longer reach until its time limit.
   */
  lost: AbortSignal;
}

const SCRIPT = decodeURIComponent(new URL("./emulator/main.ts", import.meta.url).pathname);
/**
 * The devices' queue, packets: deep enough to ride out the emulator not
 * being scheduled for a while on a busy machine (Linux's default 500 holds
 * 60 ms at 100 Mbit/s), which would otherwise drop packets nobody asked to.
 */
const DEVICE_QUEUE = 5000;
/** Device names are unique per process and per link: two links may exist at once (tests). */
let made = 0;

/**
 * Starts the emulator in `first`, moves its second device into `second`,
 * and addresses both ends. Throws {@linkcode LabUnavailable} where TUN
 * devices cannot be made.
 */
export async function emulatedLink(first: Lab, second: Lab, options: EmulatedLinkOptions): Promise<EmulatedLink> {
  if (first.namespace === undefined || second.namespace === undefined) {
    throw new LabUnavailable("A link joins two private network namespaces; a host fallback has none");
  }
  const tag = `${Deno.pid % 100_000}${(made++ % 1000).toString(36)}`;
  const a = { lab: first, device: `nke${tag}a`, address: options.first ?? "198.18.0.1" };
  const b = { lab: second, device: `nke${tag}b`, address: options.second ?? "198.18.0.2" };
  const args = [
    "run",
    "--allow-ffi",
    SCRIPT,
    "--a",
    a.device,
    "--b",
    b.device,
    "--config",
    JSON.stringify(options.config),
  ];
  if (options.seed !== undefined) args.push("--seed", String(options.seed));
  const emulator = first.spawn("deno", args, { lifetimeMs: options.lifetimeMs });
  try {
    await emulator.waitForOutput(new RegExp(READY));
  } catch (error) {
    await emulator.stop("SIGTERM");
    if (error instanceof ToolError && /TUN|tun/.test(error.message)) {
      throw new LabUnavailable(`The link emulator cannot make TUN devices here: ${error.message}`);
    }
    throw error;
  }
  try {
    await first.run("ip", ["link", "set", b.device, "netns", second.namespace]);
    for (const end of [a, b]) {
      await end.lab.run("ip", ["addr", "add", `${end.address}/24`, "dev", end.device]);
      await end.lab.run("ip", ["link", "set", end.device, "txqueuelen", String(DEVICE_QUEUE), "up"]);
    }
  } catch (error) {
    await emulator.stop("SIGTERM");
    throw error;
  }
  let stopped: Promise<EmulatorReport | undefined> | undefined;
  const stop = () => stopped ??= stopEmulator(emulator, a, b);
  const lost = new AbortController();
  emulator.finished.then((status) => {
    if (stopped === undefined) lost.abort(emulatorLost(status, emulator.stderr()));
  });
  return { first: a, second: b, stop, lost: lost.signal, [Symbol.asyncDispose]: async () => void await stop() };
}

/** `timeout`'s exit status when the time limit ended the tool. */
const TIMED_OUT = 124;
/** `timeout`'s exit status for a tool killed by a signal: 128 plus the signal's number. */
const SIGNALS: Record<number, string> = { 2: "SIGINT", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM" };

/**
 * The sentence for an emulator that ended by itself: how it ended, and what
 * it said. The kit reads nothing else of a dead emulator, so this is all
 * there will be to find out why.
 */
function emulatorLost(status: Deno.CommandStatus, stderr: string): ToolError {
  const signal = status.signal ?? SIGNALS[status.code - 128];
  const how = signal
    ? `killed by ${signal}`
    : status.code === TIMED_OUT
    ? "its time limit ran out"
    : status.code === 0
    ? "exit status 0, as after a SIGINT or SIGTERM the kit did not send"
    : `exit status ${status.code}`;
  const said = stderr.trim().split("\n").filter(Boolean).slice(-2).join(" / ");
  return new ToolError(
    "deno",
    "failed",
    `The link emulator joining the labs stopped before the level ended (${how}), so the labs are no longer joined${
      said ? `: it said ${said}` : ""
    }`,
  );
}

type End = { lab: Lab; device: string };

/** Packets the kernel dropped on `end`'s device on their way to the emulator. */
async function kernelDropped(end: End): Promise<number> {
  const { stdout } = await end.lab.run("ip", ["-s", "-j", "link", "show", "dev", end.device]);
  return Number(JSON.parse(stdout)[0]?.stats64?.tx?.dropped ?? 0);
}

async function stopEmulator(emulator: ToolProcess, a: End, b: End): Promise<EmulatorReport | undefined> {
  let kernelDrops: EmulatorReport["kernelDrops"];
  try {
    kernelDrops = { first: await kernelDropped(a), second: await kernelDropped(b) };
  } catch (error) {
    // The emulator died already and its devices with it: no counts to read.
    if (!(error instanceof ToolError)) throw error;
  }
  await emulator.stop("SIGTERM");
  const last = emulator.stdout().trim().split("\n").at(-1) ?? "";
  try {
    const report = JSON.parse(last);
    return report.counters ? { ...report, kernelDrops } as EmulatorReport : undefined;
  } catch {
    return undefined;
  }
}
