/**
 * The sweep's results for people (a table, a chart) and for programs (JSON,
 * CSV), saved side by side in logs/06-tcp-vs-udp/.
 *
 * @module
 */

import { lineChart } from "../report/svg_chart.ts";
import { formatTable } from "../report/table.ts";
import { createUniqueFile } from "../report/unique_file.ts";
import type { SweepResult } from "./sweep.ts";

/** Bits per second as people read them: "14.9 Gbit/s", "26.2 Mbit/s". */
export function formatRate(bps: number): string {
  if (!Number.isFinite(bps)) return "–";
  const units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"];
  let value = bps;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = value >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

const range = (
  median: number,
  min: number,
  max: number,
  format: (v: number) => string,
) => min === max ? format(median) : `${format(median)} (${format(min)}–${format(max)})`;

/** The terminal table: medians, with min–max where runs differ; failed runs listed under it. */
export function formatSweepTable(result: SweepResult): string {
  const table = formatTable(
    [
      "loss",
      "TCP goodput",
      "retransmits",
      "Mathis estimate",
      "UDP goodput",
      "UDP loss",
      "jitter",
    ],
    result.levels.map((level) => {
      // No median where every run of a protocol failed.
      const tcp = Number.isFinite(level.tcp.goodput.median);
      const udp = Number.isFinite(level.udp.goodput.median);
      return [
        `${level.loss}%`,
        tcp ? range(level.tcp.goodput.median, level.tcp.goodput.min, level.tcp.goodput.max, formatRate) : "failed",
        tcp ? String(Math.round(level.tcp.retransmits.median)) : "–",
        level.mathis === undefined ? "–" : formatRate(level.mathis),
        udp ? range(level.udp.goodput.median, level.udp.goodput.min, level.udp.goodput.max, formatRate) : "failed",
        udp ? `${level.udp.lossPercent.median.toFixed(2)}%` : "–",
        udp ? `${level.udp.jitterMs.median.toFixed(3)} ms` : "–",
      ];
    }),
  );
  const failures = failedRuns(result);
  if (failures.length === 0) return table;
  return `${table}\n\n${failures.length} run${
    failures.length === 1 ? "" : "s"
  } failed (left out of the figures above):\n${failures.map((line) => `  ${line}`).join("\n")}`;
}

/** Every failed run of the sweep, one line each: "5% loss, UDP run 2: the server is busy…". */
export function failedRuns(result: SweepResult): string[] {
  return result.levels.flatMap((level) =>
    level.failed.map((failure) => `${level.loss}% loss, ${failure.run}: ${failure.reason}`)
  );
}

/** The real-time workload: delivered, on time, p99 latency, per protocol. */
export function formatRealtimeTable(result: SweepResult): string | undefined {
  const levels = result.levels.filter((level) => level.realtime);
  if (levels.length === 0) return undefined;
  const cell = (
    r: { delivered: number; onTime: number; p99Ms: number | null },
  ) =>
    `${(r.delivered * 100).toFixed(1)}% / ${(r.onTime * 100).toFixed(1)}% / ${
      r.p99Ms === null ? "–" : r.p99Ms.toFixed(1)
    } ms`;
  const first = levels[0].realtime!.tcp;
  return `Real-time stream: ${
    Math.round(first.sent / (result.options.seconds || 1))
  } messages/s, deadline ${first.deadlineMs} ms\n` +
    formatTable(
      [
        "loss",
        "TCP delivered / on time / p99",
        "UDP delivered / on time / p99",
      ],
      levels.map((
        level,
      ) => [
        `${level.loss}%`,
        cell(level.realtime!.tcp),
        cell(level.realtime!.udp),
      ]),
    );
}

/** One CSV row per loss level, medians and ranges. */
export function sweepCsv(result: SweepResult): string {
  const header =
    "loss_percent,tcp_goodput_bps,tcp_goodput_min,tcp_goodput_max,tcp_retransmits,mathis_bps,udp_goodput_bps,udp_goodput_min,udp_goodput_max,udp_loss_percent,udp_jitter_ms,rt_tcp_on_time,rt_udp_on_time,rt_tcp_p99_ms,rt_udp_p99_ms,failed_runs";
  // A level where every run of a protocol failed has no figure: an empty cell, not NaN.
  const number = (value: number) => Number.isFinite(value) ? value : "";
  const rows = result.levels.map((l) =>
    [
      l.loss,
      number(l.tcp.goodput.median),
      number(l.tcp.goodput.min),
      number(l.tcp.goodput.max),
      number(l.tcp.retransmits.median),
      l.mathis ?? "",
      number(l.udp.goodput.median),
      number(l.udp.goodput.min),
      number(l.udp.goodput.max),
      number(l.udp.lossPercent.median),
      number(l.udp.jitterMs.median),
      l.realtime?.tcp.onTime ?? "",
      l.realtime?.udp.onTime ?? "",
      l.realtime?.tcp.p99Ms ?? "",
      l.realtime?.udp.p99Ms ?? "",
      csvText(l.failed.map((failure) => `${failure.run}: ${failure.reason}`).join("; ")),
    ].join(",")
  );
  return [header, ...rows].join("\n") + "\n";
}

/** A CSV field: quoted (quotes doubled) when it holds a comma, quote or line break. */
function csvText(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Goodput against loss for both protocols, log scale, Mathis dashed beside TCP. */
export function sweepChart(result: SweepResult): string {
  const series = [
    {
      name: "TCP goodput",
      color: "#1f77b4",
      // A level whose runs all failed has no point to draw.
      points: result.levels.map((l) => [l.loss, l.tcp.goodput.median] as [number, number]).filter(([, y]) =>
        Number.isFinite(y)
      ),
    },
    {
      name: "UDP goodput",
      color: "#d62728",
      points: result.levels.map((l) => [l.loss, l.udp.goodput.median] as [number, number]).filter(([, y]) =>
        Number.isFinite(y)
      ),
    },
  ];
  const mathis = result.levels.filter((l) => l.mathis !== undefined);
  if (mathis.length > 0) {
    series.push(
      {
        name: "Mathis MSS/(RTT·√p)",
        color: "#1f77b4",
        dashed: true,
        points: mathis.map((l) => [l.loss, l.mathis!] as [number, number]),
      } as typeof series[number],
    );
  }
  return lineChart({
    title: `TCP vs UDP goodput under packet loss (${result.method}${
      result.congestion ? `, ${result.congestion}` : ""
    })`,
    xLabel: "packet loss (%)",
    yLabel: "goodput",
    series,
    formatY: formatRate,
  });
}

/**
 * Writes <stem>.json, .csv and .svg and returns their paths. Never
 * overwrites: where <stem>.json exists (two runs in the same second share a
 * timestamp), the files become <stem>-2.*, <stem>-3.* and so on.
 *
 * @example
 * ```ts ignore
 * const files = await saveSweep(result, "logs/06-tcp-vs-udp/2026-11-27T01-18-46");
 * ```
 */
export async function saveSweep(
  result: SweepResult,
  stem: string,
): Promise<string[]> {
  const free = await createUniqueFile(stem, ".json", JSON.stringify(result, null, 2) + "\n");
  const files = [`${free}.json`, `${free}.csv`, `${free}.svg`];
  await Deno.writeTextFile(files[1], sweepCsv(result));
  await Deno.writeTextFile(files[2], sweepChart(result));
  return files;
}
