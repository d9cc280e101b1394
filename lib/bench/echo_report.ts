/**
 * The echo benchmark's rounds, summarised: each figure's median and
 * min–max over the rounds, and each server against the baseline within
 * each round (see `rounds.ts`).
 *
 * @module
 */

import { formatTable } from "../report/table.ts";
import type { Measurement } from "./echo.ts";
import { formatCoresBusy } from "./pinning.ts";
import { type ContenderSummary, formatRatio, formatSpread, summarizeRounds } from "./rounds.ts";

/** The figures the summary carries for each server. */
const FIGURES = {
  messagesPerSecond: (m: Measurement) => m.messagesPerSecond,
  megabytesPerSecond: (m: Measurement) => m.megabytesPerSecond,
  // Streaming has no per-message latency: 0 there means none.
  p50Ms: (m: Measurement) => m.p50Ms || undefined,
  p99Ms: (m: Measurement) => m.p99Ms || undefined,
  rampMs: (m: Measurement) => m.rampMs,
  serverCpu: (m: Measurement) => m.serverCpu,
  /** Messages per second of the server's CPU time: what each echo costs it, however busy the machine. */
  messagesPerCpuSecond: (m: Measurement) => m.serverCpu ? m.messagesPerSecond / m.serverCpu : undefined,
  serverPeakRss: (m: Measurement) => m.serverPeakRss,
  rssPerIdle: (m: Measurement) => m.rssPerIdle,
  clientCpu: (m: Measurement) => m.clientCpu,
  serverCoreBusy: (m: Measurement) => m.serverCoreBusy,
  loadCoreBusy: (m: Measurement) => m.loadCoreBusy,
};

/** One server under one scenario, over all rounds. */
export interface EchoSummary extends ContenderSummary<keyof typeof FIGURES> {
  scenario: string;
  /** Totals over the rounds: echoes that came back wrong, socket errors, connections never served. */
  mismatches: number;
  errors: number;
  starved: number;
}

/**
 * Summarises `measurements` scenario by scenario, server by server, in the
 * order they first appear; msgs/s and p99 are compared with `baseline`'s.
 *
 * @example
 * ```ts ignore
 * import { summarizeEcho } from "./echo_report.ts";
 * const summary = summarizeEcho(await runEchoBench(options), "C epoll (kata 2)");
 * ```
 */
export function summarizeEcho(measurements: readonly Measurement[], baseline: string): EchoSummary[] {
  const scenarios = [...new Set(measurements.map((m) => m.scenario))];
  return scenarios.flatMap((scenario) => {
    const ofScenario = measurements.filter((m) => m.scenario === scenario);
    const summaries = summarizeRounds(ofScenario, {
      contender: (m) => m.server,
      figures: FIGURES,
      baseline,
      ratios: ["messagesPerSecond", "p99Ms", "messagesPerCpuSecond"],
    });
    return summaries.map((summary) => {
      const own = ofScenario.filter((m) => m.server === summary.contender);
      const total = (count: (m: Measurement) => number) => own.reduce((sum, m) => sum + count(m), 0);
      return {
        scenario,
        ...summary,
        mismatches: total((m) => m.mismatches),
        errors: total((m) => m.errors),
        starved: total((m) => m.starved),
      };
    });
  });
}

const mebibytes = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const fixed = (digits: number) => (value: number) => value.toFixed(digits);
const percent = (value: number) => String(Math.round(value * 100));

/**
 * One table per scenario: medians with their min–max over the rounds, and
 * the ratios to `baseline` taken within each round. (MB/s is in the
 * summary, not the table: it is msgs/s times the message size.)
 *
 * @example
 * ```ts ignore
 * import { formatEcho, summarizeEcho } from "./echo_report.ts";
 * console.log(formatEcho(summarizeEcho(measurements, "C epoll (kata 2)"), "C epoll (kata 2)"));
 * ```
 */
export function formatEcho(summaries: readonly EchoSummary[], baseline: string): string {
  const scenarios = [...new Set(summaries.map((s) => s.scenario))];
  return scenarios.map((scenario) =>
    `${scenario}\n` + formatTable(
      [
        "server",
        "msgs/s",
        "p50 ms",
        "p99 ms",
        "ramp ms",
        "srv CPU",
        "msgs per CPU-s",
        "srv peak RSS",
        "client CPU",
        "cores busy (srv, load)",
        `msgs/s vs ${baseline}`,
        "p99 vs it",
        "per CPU-s vs it",
      ],
      summaries.filter((s) => s.scenario === scenario).map(({ figures, vsBaseline, ...s }) => [
        s.contender,
        formatSpread(figures.messagesPerSecond),
        formatSpread(figures.p50Ms, fixed(2)),
        formatSpread(figures.p99Ms, fixed(2)),
        formatSpread(figures.rampMs, fixed(0)),
        formatSpread(figures.serverCpu, percent, "%"),
        formatSpread(figures.messagesPerCpuSecond),
        formatSpread(figures.serverPeakRss, mebibytes, " MiB") +
        (figures.rssPerIdle ? `, ${(figures.rssPerIdle.median / 1024).toFixed(1)} KiB/idle` : ""),
        formatSpread(figures.clientCpu, percent, "%"),
        formatCoresBusy(figures.serverCoreBusy, figures.loadCoreBusy),
        formatRatio(vsBaseline.messagesPerSecond),
        formatRatio(vsBaseline.p99Ms),
        formatRatio(vsBaseline.messagesPerCpuSecond),
        ...problems({ figures, vsBaseline, ...s }),
      ]),
    )
  ).join("\n\n");
}

/** Wrong echoes, errors and failed rounds, as a last column where there are any. */
function problems(summary: EchoSummary): string[] {
  const said = [
    summary.mismatches && `${summary.mismatches} wrong echoes`,
    summary.errors && `${summary.errors} socket errors`,
    summary.starved && `${summary.starved} connections never served`,
    ...summary.failures,
  ].filter(Boolean);
  return said.length ? [`!! ${said.join("; ")}`] : [];
}
