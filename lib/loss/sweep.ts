/**
 * The experiment of Kata 6: for each loss level, TCP and UDP goodput,
 * repeated, and two light workloads (a real-time stream, request/response),
 * between two private namespaces joined by a shaped path: a path RTT, a
 * bottleneck rate and the loss, by netem or the kit's own link emulator
 * (lib/lab/path.ts). Everything it creates (namespaces, devices, rules, the
 * emulator, iperf3 and probe servers) is gone when it returns, throws, or
 * is interrupted.
 *
 * One run that fails (a server still busy after retries, a set-up lost to
 * 100 % loss) is recorded as failed, with its reason, and the sweep goes on:
 * minutes of measurements are never thrown away for one bad run.
 *
 * @module
 */

import type { EmulatorReport } from "../lab/emulator.ts";
import { Lab } from "../lab/lab.ts";
import { type Applied, LabPath, type LinkKind } from "../lab/path.ts";
import { interrupted, ToolError, type ToolProcess, type Transcript } from "../tools/runner.ts";
import { type BusyRetry, iperfRun, type RunResult, startIperfServer } from "./iperf.ts";
import {
  type Crossover,
  findCollapse,
  findCrossover,
  mathisEstimate,
  modelCrossover,
  padhyeEstimate,
} from "./models.ts";
import { labCounters, probeRun, startProbeServer, type WorkloadsResult, workloadsRun } from "./probe.ts";
import { type Spread, spread } from "./stats.ts";

/** Options for {@linkcode runSweep}. */
export interface SweepOptions {
  /** Loss levels in per cent. */
  losses: number[];
  repeats: number;
  seconds: number;
  /** UDP's offered rate, iperf3 syntax ("90M"). */
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
  /** Path of the Deno probe (katas/06-tcp-vs-udp/probe.ts): for --tool deno and the light workloads. */
  probe?: string;
  /** Who shapes the path: netem, the kit's emulator, nftables (loss only). @default {"auto"} */
  link?: LinkKind | "auto";
  /** One-way delay, ms, each direction. */
  delayMs?: number;
  /** Bottleneck rate, tc syntax ("100mbit"), each direction. */
  rate?: string;
  /** Jitter, ms, each direction (the kit's emulator keeps the order; netem's reorders). */
  jitterMs?: number;
  /** Bursty loss: bursts of this many packets on average (Gilbert–Elliott); random loss when absent. */
  burstPackets?: number;
  /** The bottleneck's queue in bytes (the kit's emulator). @default {1500000} */
  queueBytes?: number;
  /** Real-time workload: messages per second and deadline. @default {{ rate: 50, deadlineMs: 150 }} */
  realtime?: { rate: number; deadlineMs: number };
  /** Request/response workload: bytes per answer. @default {10000} */
  requestBytes?: number;
  transcript?: Transcript;
  /** Called before each run: how many are done, of how many, and which. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** A run that did not produce a result, and why. */
export interface FailedRun {
  /** Which run: "TCP run 2", "workloads run 1". */
  run: string;
  reason: string;
}

/** A real-time stream over one protocol, over the repeats. */
export interface RealtimeSpread {
  delivered: Spread;
  onTime: Spread;
  p99Ms: Spread;
  sent: number;
  deadlineMs: number;
}

/** Request/response over one protocol, over the repeats: each repeat's median and 90th percentile. */
export interface RequestSpread {
  medianMs: Spread;
  p90Ms: Spread;
  completed: number;
  failed: number;
  size: number;
}

/** One loss level's results. */
export interface LevelResult {
  loss: number;
  /** Runs that failed; the spreads are over the runs that did not. */
  failed: FailedRun[];
  tcp: {
    goodput: Spread;
    retransmits: Spread;
    /** Retransmissions the receiver had already (D-SACK), where counted. */
    spuriousRetransmits?: Spread;
    runs: RunResult[];
  };
  udp: {
    goodput: Spread;
    lossPercent: Spread;
    /**
     * The loss the path caused: what UDP lost less what the receiver's full
     * socket buffer dropped (the machine's doing), where that was counted.
     */
    pathLossPercent?: Spread;
    jitterMs: Spread;
    runs: RunResult[];
  };
  /** The real-time workload over each protocol (needs the probe and a lab), repeated like the bulk runs. */
  realtime?: { tcp: RealtimeSpread; udp: RealtimeSpread };
  /** Request/response completion times over each protocol. */
  requests?: { tcp: RequestSpread; udp: RequestSpread };
  /** The light workloads' runs as measured. */
  workloads?: WorkloadsResult[];
  /** Mathis et al. model of TCP goodput at this loss, bits/s. */
  mathis?: number;
  /** Padhye et al. model (with retransmission timeouts), bits/s. */
  padhye?: number;
  /** What the kit's link emulator counted over this level (every drop, by cause). */
  link?: EmulatorReport;
}

/** The whole sweep. */
export interface SweepResult {
  started: string;
  /** How the path was shaped. */
  method: LinkKind | "remote";
  /** Which means each option took. */
  applied?: Applied;
  notice?: string;
  congestion?: string;
  /** Path RTT (µs) and MSS (bytes) for the models: measured by iperf3, or the RTT asked for. */
  rttUs?: number;
  /** Where the RTT came from: the delay asked for, or iperf3's smallest smoothed RTT. */
  rttSource?: "measured" | "asked";
  /** iperf3's smallest smoothed RTT at the lowest loss, µs: the path plus the queue TCP kept full. */
  measuredRttUs?: number;
  mss?: number;
  /** The bottleneck rate, bits/s, where one was set. */
  rateBps?: number;
  /** UDP's offered rate, bits/s. */
  udpOfferedBps?: number;
  /** Where TCP's goodput falls below UDP's: from the data, and from the Padhye model. */
  crossover?: Crossover & { padhyePercent?: number };
  /** Where TCP's goodput falls to half its loss-free figure. */
  collapse?: Crossover;
  /** Where UDP becomes the better choice for each light workload, from the data. */
  workloadCrossovers?: { realtime?: Crossover; requests?: Crossover };
  options: Omit<SweepOptions, "transcript" | "onProgress">;
  levels: LevelResult[];
}

const SERVER_ADDRESS = "198.18.0.2";
/** Linux's MSS on a 1500-byte MTU with timestamps, for the models when iperf3 did not say. */
const DEFAULT_MSS = 1448;

/** What runs one measurement at one loss level, wherever it happens. */
interface Bench {
  bulk(protocol: "tcp" | "udp"): Promise<RunResult>;
  workloads?(): Promise<WorkloadsResult>;
  /** Called after each level: servers kept for a level stop here. */
  endLevel(): Promise<void>;
}

/** Runs the sweep. Throws LabUnavailable / ToolError with actionable messages. */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const started = new Date().toISOString();
  const { transcript: _transcript, onProgress: _onProgress, ...recorded } = options;
  const withWorkloads = options.probe !== undefined && !options.server;
  const total = options.losses.length * options.repeats * (withWorkloads ? 3 : 2);
  let done = 0;
  const step = (label: string) => options.onProgress?.(done++, total, label);
  const base = { started, options: recorded, udpOfferedBps: parseRateText(options.udpRate) };
  if (options.server) {
    const server = options.server;
    const { seconds, udpRate, congestion, retry } = options;
    const remote: Bench = {
      bulk: (protocol) => iperfRun({ server, port: options.port, protocol, seconds, udpRate, congestion, retry }),
      endLevel: () => Promise.resolve(),
    };
    const levels: LevelResult[] = [];
    for (const loss of options.losses) levels.push(await measureLevel(loss, options, remote, step));
    options.onProgress?.(total, total, "done");
    return finish({
      ...base,
      method: "remote",
      notice:
        `Against ${options.server}, loss is whatever you shaped there: the kit applies none. The loss column is a label.`,
      levels,
    });
  }
  const levels = await sweepInLabs(options, step);
  options.onProgress?.(total, total, "done");
  return finish({ ...base, ...levels, rateBps: parseRateText(options.rate ?? "") });
}

/** Every level between two fresh labs joined by a shaped path. */
async function sweepInLabs(
  options: SweepOptions,
  step: (label: string) => void,
): Promise<Pick<SweepResult, "method" | "applied" | "notice" | "levels">> {
  const { transcript } = options;
  await using client = await Lab.create("kata6-client", { transcript });
  await using server = await Lab.create("kata6-server", { transcript });
  const perRunMs = (options.seconds + 30) * 1000;
  await using path = await LabPath.open(client, server, {
    link: options.link,
    delayMs: options.delayMs,
    jitterMs: options.jitterMs,
    burstPackets: options.burstPackets,
    congestion: options.congestion,
    rateBps: options.rate ? parseRateText(options.rate) : undefined,
    queueBytes: options.queueBytes ?? 1_500_000,
    levelMs: options.repeats * 3 * perRunMs,
    addresses: ["198.18.0.1", SERVER_ADDRESS],
  });
  const bench = labBench(client, server, path, options);
  const levels: LevelResult[] = [];
  for (const loss of options.losses) {
    await path.setLoss(loss);
    const level = await measureLevel(loss, options, bench, step);
    level.link = await path.endLevel();
    levels.push(level);
  }
  const notices = [
    (options.link ?? "auto") === "auto" && path.kind === "kit"
      ? "This kernel has no netem: delay, rate and loss are applied by the kit's own link emulator (TUN devices, lib/lab/emulator)."
      : undefined,
    path.notice,
  ].filter(Boolean);
  const notice = notices.length ? notices.join(" ") : undefined;
  return { method: path.kind, applied: path.applied, notice, levels };
}

/**
 * Measurements between the two labs. Every server is bounded: iperf3 serves
 * one test and exits (a fresh one per run, so it is never busy with the
 * last one), the probe's server stops when idle, and both have a time limit
 * that holds even if this process is killed. A path that breaks (the kit's
 * emulator stopped by itself) fails the run it happens in at once, and every
 * run after it in the level, with the emulator's own sentence: without that,
 * a client waits for the server it can no longer reach until its time limit,
 * and the next server cannot bind the address that went with the emulator.
 */
function labBench(client: Lab, server: Lab, path: LabPath, options: SweepOptions): Bench {
  const { seconds, udpRate, congestion, probe, retry } = options;
  // Longer than any gap between two uses: a run's own time limit.
  const idleSeconds = seconds + 30;
  let probeServer: ToolProcess | undefined;
  const probeReady = async () => {
    probeServer ??= await startProbeServer(server, probe!, SERVER_ADDRESS, {
      idleSeconds,
      lifetimeMs: options.repeats * 3 * (seconds + 30) * 1000,
    });
  };
  const rttMs = 2 * (options.delayMs ?? 0);
  const bulk = async (protocol: "tcp" | "udp") => {
    const signal = path.lost;
    signal.throwIfAborted();
    if (options.tool === "deno" && probe !== undefined) {
      await probeReady();
      return await probeRun(client, probe, { server: SERVER_ADDRESS, protocol, seconds, udpRate, signal });
    }
    await using _iperfServer = await startIperfServer(server, SERVER_ADDRESS, idleSeconds);
    return await iperfRun({
      server: SERVER_ADDRESS,
      protocol,
      seconds,
      udpRate,
      congestion,
      lab: client,
      retry,
      signal,
    });
  };
  return {
    async bulk(protocol) {
      if (protocol === "tcp") {
        // Retransmissions the receiver saw twice (D-SACK) were not needed: reordering, not loss.
        const before = await labCounters(client, ["TcpExtTCPDSACKRecvSegs"]);
        const result = await bulk(protocol);
        const after = await labCounters(client, ["TcpExtTCPDSACKRecvSegs"]);
        return { ...result, spuriousRetransmits: after.TcpExtTCPDSACKRecvSegs - before.TcpExtTCPDSACKRecvSegs };
      }
      // UDP lost at the receiver's socket is the machine's doing, not the path's: counted apart.
      const before = await labCounters(server, ["UdpRcvbufErrors"]);
      const result = await bulk(protocol);
      const after = await labCounters(server, ["UdpRcvbufErrors"]);
      return { ...result, receiveBufferDrops: after.UdpRcvbufErrors - before.UdpRcvbufErrors };
    },
    workloads: probe === undefined ? undefined : async () => {
      path.lost.throwIfAborted();
      await probeReady();
      return await workloadsRun(client, probe, {
        signal: path.lost,
        server: SERVER_ADDRESS,
        seconds,
        ...(options.realtime ?? { rate: 50, deadlineMs: 150 }),
        size: options.requestBytes ?? 10_000,
        // Ask again after twice the path's round trip, as a careful application would.
        retryMs: Math.max(20, 2 * rttMs + 10),
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
  const workloads: WorkloadsResult[] = [];
  try {
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      for (const [protocol, runs] of [["tcp", tcp], ["udp", udp]] as const) {
        const name = `${protocol.toUpperCase()} run ${repeat}`;
        step(`${loss}% loss, ${name}`);
        const result = await attempt(name, failed, () => bench.bulk(protocol));
        if (result) runs.push(result);
      }
      if (bench.workloads) {
        const name = `workloads run ${repeat}`;
        step(`${loss}% loss, real-time and request/response, run ${repeat}`);
        const result = await attempt(name, failed, () => bench.workloads!());
        if (result) workloads.push(result);
      }
    }
    return {
      loss,
      failed,
      tcp: {
        goodput: spread(tcp.map((r) => r.goodput)),
        retransmits: spread(tcp.map((r) => r.retransmits ?? 0)),
        spuriousRetransmits: tcp.every((r) => r.spuriousRetransmits !== undefined)
          ? spread(tcp.map((r) => r.spuriousRetransmits!))
          : undefined,
        runs: tcp,
      },
      udp: {
        goodput: spread(udp.map((r) => r.goodput)),
        lossPercent: spread(udp.map((r) => r.lossPercent ?? 0)),
        pathLossPercent: udp.every((r) => r.receiveBufferDrops !== undefined && r.datagrams)
          ? spread(udp.map((r) => (r.lossPercent ?? 0) - 100 * r.receiveBufferDrops! / r.datagrams!))
          : undefined,
        jitterMs: spread(udp.map((r) => r.jitterMs ?? 0)),
        runs: udp,
      },
      ...summarizeWorkloads(workloads),
    };
  } finally {
    await bench.endLevel();
  }
}

/** Medians and ranges of the light workloads over the repeats. */
function summarizeWorkloads(runs: WorkloadsResult[]): Pick<LevelResult, "realtime" | "requests" | "workloads"> {
  if (runs.length === 0) return {};
  const finite = (values: (number | null)[]) => values.filter((value): value is number => value !== null);
  const realtime = (protocol: "tcp" | "udp"): RealtimeSpread => {
    const each = runs.map((run) => run.realtime[protocol]);
    return {
      delivered: spread(each.map((r) => r.delivered)),
      onTime: spread(each.map((r) => r.onTime)),
      p99Ms: spread(finite(each.map((r) => r.p99Ms))),
      sent: each[0].sent,
      deadlineMs: each[0].deadlineMs,
    };
  };
  const requests = (protocol: "tcp" | "udp"): RequestSpread => {
    const each = runs.map((run) => run.requests[protocol]);
    return {
      medianMs: spread(finite(each.map((r) => r.medianMs))),
      p90Ms: spread(finite(each.map((r) => r.p90Ms))),
      completed: each.reduce((sum, r) => sum + r.completed, 0),
      failed: each.reduce((sum, r) => sum + r.failed, 0),
      size: each[0].size,
    };
  };
  return {
    realtime: { tcp: realtime("tcp"), udp: realtime("udp") },
    requests: { tcp: requests("tcp"), udp: requests("udp") },
    workloads: runs,
  };
}

/** "100mbit", "90M", "1.5g" → bits/s; undefined when it is not a rate. */
function parseRateText(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([kmg]?)(?:bit)?$/i.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * { "": 1, k: 1e3, m: 1e6, g: 1e9 }[match[2].toLowerCase() as "" | "k" | "m" | "g"];
}

/** Adds the path RTT, MSS, congestion control, the models and the crossover. */
function finish(result: SweepResult): SweepResult {
  const base = result.levels.find((level) => level.loss === 0) ?? result.levels[0];
  const rtts = base?.tcp.runs.map((run) => run.rttUs).filter((rtt): rtt is number => rtt !== undefined) ?? [];
  // The path's RTT, where the kit set it: what iperf3 reports is the
  // smoothed RTT, queueing at the bottleneck included (cubic fills it).
  const askedRttUs = result.options.delayMs ? 2 * result.options.delayMs * 1000 : undefined;
  result.rttUs = askedRttUs ?? (rtts.length ? Math.min(...rtts) : undefined);
  result.rttSource = askedRttUs ? "asked" : rtts.length ? "measured" : undefined;
  result.measuredRttUs = rtts.length ? Math.min(...rtts) : undefined;
  result.mss = base?.tcp.runs.find((run) => run.mss)?.mss ?? (result.rttUs ? DEFAULT_MSS : undefined);
  // Asked for (on the lab's route, or iperf3's -C), else what iperf3 reported.
  result.congestion = result.options.congestion ?? base?.tcp.runs.find((run) => run.congestion)?.congestion;
  // TCP's payload share of a 1500-byte packet: the most goodput the bottleneck allows.
  const ceilingBps = result.rateBps && result.mss ? result.rateBps * result.mss / 1500 : undefined;
  if (result.rttUs && result.mss) {
    const { mss, rttUs } = result;
    const padhye = (p: number) => padhyeEstimate(mss, rttUs / 1e6, p, { ceilingBps });
    for (const level of result.levels) {
      level.mathis = mathisEstimate(mss, rttUs / 1e6, level.loss / 100);
      level.padhye = padhye(level.loss / 100);
    }
    const padhyePercent = result.udpOfferedBps ? modelCrossover(padhye, result.udpOfferedBps) : undefined;
    result.crossover = { ...crossoverOf(result), padhyePercent };
  } else {
    result.crossover = crossoverOf(result);
  }
  result.collapse = findCollapse(result.levels.map((l) => [l.loss, l.tcp.goodput.median]));
  result.workloadCrossovers = workloadCrossovers(result.levels);
  return result;
}

function crossoverOf(result: SweepResult): Crossover {
  return findCrossover(
    result.levels.map((l) => [l.loss, l.tcp.goodput.median, l.udp.goodput.median]),
    "delivers less than UDP",
  );
}

/** "Better" per workload: more messages on time; a shorter wait for an answer. */
function workloadCrossovers(levels: LevelResult[]): SweepResult["workloadCrossovers"] {
  const measured = levels.filter((l) => l.realtime && l.requests);
  if (measured.length === 0) return undefined;
  return {
    realtime: findCrossover(
      measured.map((l) => [l.loss, l.realtime!.tcp.onTime.median, l.realtime!.udp.onTime.median]),
      "gets fewer real-time messages on time than UDP",
    ),
    // Shorter is better: compare the inverses.
    requests: findCrossover(
      measured.map((l) => [l.loss, 1 / l.requests!.tcp.medianMs.median, 1 / l.requests!.udp.medianMs.median]),
      "answers requests more slowly than UDP",
    ),
  };
}
