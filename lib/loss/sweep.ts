/**
 * The experiment of Kata 6: for each loss level, TCP and UDP goodput,
 * repeated, between two private namespaces joined by a virtual cable.
 * Everything it creates (namespaces, rules, the iperf3 and probe servers) is
 * gone when it returns, throws, or is interrupted.
 *
 * One run that fails (a server still busy after retries, a set-up lost to
 * 100 % loss) is recorded as failed, with its reason, and the sweep goes on:
 * minutes of measurements are never thrown away for one bad run.
 *
 * @module
 */

import { Lab } from "../lab/lab.ts";
import { linkLabs } from "../lab/link.ts";
import { applyLoss } from "../lab/loss.ts";
import { interrupted, ToolError, type ToolProcess, type Transcript } from "../tools/runner.ts";
import { type BusyRetry, iperfRun, type RunResult, startIperfServer } from "./iperf.ts";
import { probeRun, type RealtimeResult, realtimeRun, startProbeServer } from "./probe.ts";
import { mathisEstimate, type Spread, spread } from "./stats.ts";

/** Options for {@linkcode runSweep}. */
export interface SweepOptions {
  /** Loss levels in per cent. */
  losses: number[];
  repeats: number;
  seconds: number;
  udpRate: string;
  congestion?: string;
  /** An iperf3 server the learner runs elsewhere: no lab, no shaping here. */
  server?: string;
  /** That server's port. @default {5201} */
  port?: number;
  /** Retries when an iperf3 server is busy. @default {{ attempts: 4, firstDelayMs: 250 }} */
  retry?: BusyRetry;
  /** Who measures bulk goodput: iperf3, or the kit's Deno probe. @default {"iperf3"} */
  tool?: "iperf3" | "deno";
  /** Path of the Deno probe (katas/06-tcp-vs-udp/probe.ts): for --tool deno and the real-time workload. */
  probe?: string;
  /** netem only: one-way delay in ms and a rate limit ("100mbit") on each side. */
  delayMs?: number;
  rate?: string;
  /** Real-time workload: messages per second and deadline. @default {{ rate: 50, deadlineMs: 150 }} */
  realtime?: { rate: number; deadlineMs: number };
  transcript?: Transcript;
  /** Called before each run: how many are done, of how many, and which. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** A run that did not produce a result, and why. */
export interface FailedRun {
  /** Which run: "TCP run 2", "real-time over UDP". */
  run: string;
  reason: string;
}

/** One loss level's results. */
export interface LevelResult {
  loss: number;
  /** Runs that failed; the spreads are over the runs that did not. */
  failed: FailedRun[];
  tcp: { goodput: Spread; retransmits: Spread; runs: RunResult[] };
  udp: {
    goodput: Spread;
    lossPercent: Spread;
    jitterMs: Spread;
    runs: RunResult[];
  };
  /** The real-time workload over each protocol (needs the probe and a lab). */
  realtime?: { tcp: RealtimeResult; udp: RealtimeResult };
  /** Mathis et al. estimate of TCP goodput at this loss, bits/s. */
  mathis?: number;
}

/** The whole sweep. */
export interface SweepResult {
  started: string;
  /** How loss was applied. */
  method: "netem" | "nftables" | "remote";
  notice?: string;
  congestion?: string;
  /** Path RTT (µs) and MSS (bytes) from the loss-free TCP runs, for Mathis. */
  rttUs?: number;
  mss?: number;
  options: Omit<SweepOptions, "transcript" | "onProgress">;
  levels: LevelResult[];
}

const SERVER_ADDRESS = "198.18.0.2";

/** What runs one measurement at one loss level, wherever it happens. */
interface Bench {
  bulk(protocol: "tcp" | "udp"): Promise<RunResult>;
  realtime?(protocol: "tcp" | "udp"): Promise<RealtimeResult>;
  /** Called after each level: servers kept for a level stop here. */
  endLevel(): Promise<void>;
}

/** Runs the sweep. Throws LabUnavailable / ToolError with actionable messages. */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const started = new Date().toISOString();
  const { transcript, onProgress, ...recorded } = options;
  const withRealtime = options.probe !== undefined && !options.server;
  const total = options.losses.length *
    (options.repeats * 2 + (withRealtime ? 2 : 0));
  let done = 0;
  const step = (label: string) => onProgress?.(done++, total, label);
  const { seconds, udpRate, congestion, retry } = options;

  if (options.server) {
    const server = options.server;
    const remote: Bench = {
      bulk: (protocol) => iperfRun({ server, port: options.port, protocol, seconds, udpRate, congestion, retry }),
      endLevel: () => Promise.resolve(),
    };
    const levels: LevelResult[] = [];
    for (const loss of options.losses) {
      levels.push(await measureLevel(loss, options, remote, step));
    }
    onProgress?.(total, total, "done");
    return finish({
      started,
      method: "remote",
      notice:
        `Against ${options.server}, loss is whatever you shaped there: the kit applies none. The loss column is a label.`,
      options: recorded,
      levels,
    });
  }

  await using client = await Lab.create("kata6-client", { transcript });
  await using server = await Lab.create("kata6-server", { transcript });
  const link = await linkLabs(client, server, {
    first: "198.18.0.1",
    second: SERVER_ADDRESS,
  });
  const bench = labBench(client, server, options);
  let method: SweepResult["method"] = "netem";
  let notice: string | undefined;
  const levels: LevelResult[] = [];
  for (const loss of options.losses) {
    // Loss on packets entering each side: data one way, ACKs the other.
    for (const end of [link.first, link.second]) {
      const shaping = await applyLoss(end.lab, end.device, {
        percent: loss,
        delayMs: options.delayMs,
        rate: options.rate,
      });
      method = shaping.method;
      notice = shaping.notice;
    }
    levels.push(await measureLevel(loss, options, bench, step));
  }
  onProgress?.(total, total, "done");
  return finish({ started, method, notice, options: recorded, levels });
}

/**
 * Measurements between the two labs. Every server is bounded: iperf3 serves
 * one test and exits (a fresh one per run, so it is never busy with the
 * last one), the probe's server stops when idle, and both have a time limit
 * that holds even if this process is killed.
 */
function labBench(client: Lab, server: Lab, options: SweepOptions): Bench {
  const { seconds, udpRate, congestion, probe, retry } = options;
  // Longer than any gap between two uses: a run's own time limit.
  const idleSeconds = seconds + 20;
  let probeServer: ToolProcess | undefined;
  const probeReady = async () => {
    if (probeServer === undefined) {
      probeServer = await startProbeServer(server, probe!, SERVER_ADDRESS, {
        idleSeconds,
        lifetimeMs: (options.repeats * 2 + 2) * (seconds + 30) * 1000,
      });
    }
  };
  return {
    async bulk(protocol) {
      if (options.tool === "deno" && probe !== undefined) {
        await probeReady();
        return await probeRun(client, probe, { server: SERVER_ADDRESS, protocol, seconds, udpRate });
      }
      await using _iperfServer = await startIperfServer(server, SERVER_ADDRESS, idleSeconds);
      return await iperfRun({ server: SERVER_ADDRESS, protocol, seconds, udpRate, congestion, lab: client, retry });
    },
    realtime: probe === undefined ? undefined : async (protocol) => {
      await probeReady();
      return await realtimeRun(client, probe, {
        server: SERVER_ADDRESS,
        seconds,
        ...(options.realtime ?? { rate: 50, deadlineMs: 150 }),
        protocol,
      });
    },
    async endLevel() {
      await probeServer?.stop("SIGTERM");
      probeServer = undefined;
    },
  };
}

/**
 * Runs `measure`, or records why it failed. Only a failure of this one run
 * is recorded: a missing tool or privilege, a bug, or Ctrl-C still ends the
 * sweep.
 */
async function attempt<T>(
  label: string,
  failed: FailedRun[],
  measure: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await measure();
  } catch (error) {
    if (
      !(error instanceof ToolError) || !["failed", "timeout"].includes(error.kind) || interrupted()
    ) throw error;
    failed.push({ run: label, reason: error.message });
    return undefined;
  }
}

async function measureLevel(
  loss: number,
  options: SweepOptions,
  bench: Bench,
  step: (label: string) => void,
): Promise<LevelResult> {
  const failed: FailedRun[] = [];
  const tcp: RunResult[] = [];
  const udp: RunResult[] = [];
  try {
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      for (const [protocol, runs] of [["tcp", tcp], ["udp", udp]] as const) {
        const name = `${protocol.toUpperCase()} run ${repeat}`;
        step(`${loss}% loss, ${name}`);
        const result = await attempt(name, failed, () => bench.bulk(protocol));
        if (result) runs.push(result);
      }
    }
    let realtime: LevelResult["realtime"];
    if (bench.realtime) {
      step(`${loss}% loss, real-time over TCP`);
      const overTcp = await attempt("real-time over TCP", failed, () => bench.realtime!("tcp"));
      step(`${loss}% loss, real-time over UDP`);
      const overUdp = await attempt("real-time over UDP", failed, () => bench.realtime!("udp"));
      if (overTcp && overUdp) realtime = { tcp: overTcp, udp: overUdp };
    }
    return {
      loss,
      failed,
      tcp: {
        goodput: spread(tcp.map((r) => r.goodput)),
        retransmits: spread(tcp.map((r) => r.retransmits ?? 0)),
        runs: tcp,
      },
      udp: {
        goodput: spread(udp.map((r) => r.goodput)),
        lossPercent: spread(udp.map((r) => r.lossPercent ?? 0)),
        jitterMs: spread(udp.map((r) => r.jitterMs ?? 0)),
        runs: udp,
      },
      realtime,
    };
  } finally {
    await bench.endLevel();
  }
}

/** Adds the path RTT, MSS, congestion control and Mathis estimates. */
function finish(result: SweepResult): SweepResult {
  const base = result.levels.find((level) => level.loss === 0) ??
    result.levels[0];
  const rtts = base?.tcp.runs.map((run) => run.rttUs).filter((rtt): rtt is number => rtt !== undefined) ?? [];
  result.rttUs = rtts.length ? Math.min(...rtts) : undefined;
  result.mss = base?.tcp.runs.find((run) => run.mss)?.mss;
  result.congestion = base?.tcp.runs.find((run) => run.congestion)?.congestion;
  if (result.rttUs && result.mss) {
    for (const level of result.levels) {
      level.mathis = mathisEstimate(
        result.mss,
        result.rttUs / 1e6,
        level.loss / 100,
      );
    }
  }
  return result;
}
