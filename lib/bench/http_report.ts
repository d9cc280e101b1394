/**
 * The HTTP benchmark's rounds, summarised: each figure's median and
 * min–max, and each server's rate against the baseline's within each round
 * (see `rounds.ts`).
 *
 * @module
 */

import { formatTable } from "../report/table.ts";
import type { HttpMeasurement } from "./http.ts";
import { formatCoresBusy } from "./pinning.ts";
import { type ContenderSummary, formatRatio, formatSpread, summarizeRounds } from "./rounds.ts";

const FIGURES = {
  requestsPerSecond: (m: HttpMeasurement) => m.requestsPerSecond,
  p50Ms: (m: HttpMeasurement) => m.p50Ms,
  p99Ms: (m: HttpMeasurement) => m.p99Ms,
  serverCpu: (m: HttpMeasurement) => m.serverCpu,
  serverPeakRss: (m: HttpMeasurement) => m.serverPeakRss,
  /** Requests per second of the server's CPU time: how much work each request costs it. */
  requestsPerCpuSecond: (m: HttpMeasurement) => m.serverCpu ? m.requestsPerSecond / m.serverCpu : undefined,
  clientCpu: (m: HttpMeasurement) => m.clientCpu,
  serverCoreBusy: (m: HttpMeasurement) => m.serverCoreBusy,
  loadCoreBusy: (m: HttpMeasurement) => m.loadCoreBusy,
};

/** One server over all rounds. */
export interface HttpSummary extends ContenderSummary<keyof typeof FIGURES> {
  /** Totals over the rounds. */
  non2xx: number;
  socketErrors: number;
}

/**
 * Summarises the rounds server by server; requests/s and p99 are compared
 * with `baseline`'s within each round.
 *
 * @example
 * ```ts ignore
 * import { summarizeHttp } from "./http_report.ts";
 * const summary = summarizeHttp(await runHttpBench(options), "Deno.serve");
 * ```
 */
export function summarizeHttp(measurements: readonly HttpMeasurement[], baseline: string): HttpSummary[] {
  return summarizeRounds(measurements, {
    contender: (m) => m.server,
    figures: FIGURES,
    baseline,
    ratios: ["requestsPerSecond", "p99Ms", "requestsPerCpuSecond"],
  }).map((summary) => {
    const own = measurements.filter((m) => m.server === summary.contender && !m.error);
    return {
      ...summary,
      non2xx: own.reduce((sum, m) => sum + m.non2xx, 0),
      socketErrors: own.reduce((sum, m) => sum + m.socketErrors, 0),
    };
  });
}

const fixed = (digits: number) => (value: number) => value.toFixed(digits);
const percent = (value: number) => String(Math.round(value * 100));

/**
 * The summary as a table: medians with min–max, ratios to `baseline`.
 *
 * @example
 * ```ts ignore
 * import { formatHttp, summarizeHttp } from "./http_report.ts";
 * console.log(formatHttp(summarizeHttp(measurements, "Deno.serve"), "Deno.serve"));
 * ```
 */
export function formatHttp(summaries: readonly HttpSummary[], baseline: string): string {
  return formatTable(
    [
      "server",
      "req/s",
      "p50 ms",
      "p99 ms",
      "non-2xx",
      "socket errors",
      "srv CPU",
      "req per CPU-s",
      "srv peak RSS",
      "client CPU",
      "cores busy (srv, load)",
      `req/s vs ${baseline}`,
      "p99 vs it",
      "req per CPU-s vs it",
    ],
    summaries.map(({ figures, vsBaseline, ...s }) => [
      s.contender,
      formatSpread(figures.requestsPerSecond),
      formatSpread(figures.p50Ms, fixed(2)),
      formatSpread(figures.p99Ms, fixed(2)),
      String(s.non2xx),
      String(s.socketErrors),
      formatSpread(figures.serverCpu, percent, "%"),
      formatSpread(figures.requestsPerCpuSecond),
      formatSpread(figures.serverPeakRss, (bytes) => (bytes / 2 ** 20).toFixed(1), " MiB"),
      formatSpread(figures.clientCpu, percent, "%"),
      formatCoresBusy(figures.serverCoreBusy, figures.loadCoreBusy),
      formatRatio(vsBaseline.requestsPerSecond),
      formatRatio(vsBaseline.p99Ms),
      formatRatio(vsBaseline.requestsPerCpuSecond),
      ...(s.failures.length ? [`!! ${s.failures.join("; ")}`] : []),
    ]),
  );
}
