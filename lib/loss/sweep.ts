/**
 * The experiment of Kata 6: for each loss level, TCP and UDP goodput,
 * repeated, between two private namespaces joined by a virtual cable.
 * Everything it creates (namespaces, rules, the iperf3 server) is gone when
 * it returns, throws, or is interrupted.
 *
 * @module
 */

import { Lab } from "../lab/lab.ts";
import { linkLabs } from "../lab/link.ts";
import { applyLoss } from "../lab/loss.ts";
import type { Transcript } from "../tools/runner.ts";
import { iperfRun, type RunResult } from "./iperf.ts";
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

/** One loss level's results. */
export interface LevelResult {
  loss: number;
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

/** Runs the sweep. Throws LabUnavailable / ToolError with actionable messages. */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const started = new Date().toISOString();
  const { transcript, onProgress, ...recorded } = options;
  const withRealtime = options.probe !== undefined && !options.server;
  const total = options.losses.length *
    (options.repeats * 2 + (withRealtime ? 2 : 0));
  let done = 0;
  const step = (label: string) => onProgress?.(done++, total, label);

  if (options.server) {
    const levels: LevelResult[] = [];
    for (const loss of options.losses) {
      levels.push(
        await measureLevel(loss, options, options.server, undefined, step),
      );
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
  if ((options.tool ?? "iperf3") === "iperf3") {
    // --forceflush: iperf3 buffers its output on a pipe, and we wait for a line of it.
    const iperfServer = server.spawn("iperf3", ["-s", "-B", SERVER_ADDRESS, "--forceflush"]);
    await iperfServer.waitForOutput(/Server listening/);
  }
  if (options.probe) await startProbeServer(server, options.probe, SERVER_ADDRESS);
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
    levels.push(
      await measureLevel(loss, options, SERVER_ADDRESS, client, step),
    );
  }
  onProgress?.(total, total, "done");
  return finish({ started, method, notice, options: recorded, levels });
}

async function measureLevel(
  loss: number,
  options: SweepOptions,
  server: string,
  lab: Lab | undefined,
  step: (label: string) => void,
): Promise<LevelResult> {
  const tcp: RunResult[] = [];
  const udp: RunResult[] = [];
  const { seconds, udpRate, congestion, probe } = options;
  const useProbe = options.tool === "deno" && lab !== undefined && probe !== undefined;
  const run = (protocol: "tcp" | "udp") =>
    useProbe
      ? probeRun(lab, probe, { server, protocol, seconds, udpRate })
      : iperfRun({ server, protocol, seconds, udpRate, congestion, lab });
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    step(`${loss}% loss, TCP, run ${repeat + 1}`);
    tcp.push(await run("tcp"));
    step(`${loss}% loss, UDP, run ${repeat + 1}`);
    udp.push(await run("udp"));
  }
  let realtime: LevelResult["realtime"];
  if (lab && probe) {
    const settings = { server, seconds, ...(options.realtime ?? { rate: 50, deadlineMs: 150 }) };
    step(`${loss}% loss, real-time over TCP`);
    const overTcp = await realtimeRun(lab, probe, { ...settings, protocol: "tcp" });
    step(`${loss}% loss, real-time over UDP`);
    const overUdp = await realtimeRun(lab, probe, { ...settings, protocol: "udp" });
    realtime = { tcp: overTcp, udp: overUdp };
  }
  return {
    loss,
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
