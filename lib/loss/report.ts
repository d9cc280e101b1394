/**
 * The sweep's results for people (a table, a chart) and for programs (JSON,
 * CSV), saved side by side in logs/06-tcp-vs-udp/.
 *
 * @module
 */

import { lineChart } from "../report/svg_chart.ts";
import { formatTable } from "../report/table.ts";
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

/** The terminal table: medians, with min–max where runs differ. */
export function formatSweepTable(result: SweepResult): string {
  return formatTable(
    [
      "loss",
      "TCP goodput",
      "retransmits",
      "Mathis estimate",
      "UDP goodput",
      "UDP loss",
      "jitter",
    ],
    result.levels.map((level) => [
      `${level.loss}%`,
      range(
        level.tcp.goodput.median,
        level.tcp.goodput.min,
        level.tcp.goodput.max,
        formatRate,
      ),
      String(Math.round(level.tcp.retransmits.median)),
      level.mathis === undefined ? "–" : formatRate(level.mathis),
      range(
        level.udp.goodput.median,
        level.udp.goodput.min,
        level.udp.goodput.max,
        formatRate,
      ),
      `${level.udp.lossPercent.median.toFixed(2)}%`,
      `${level.udp.jitterMs.median.toFixed(3)} ms`,
    ]),
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
    "loss_percent,tcp_goodput_bps,tcp_goodput_min,tcp_goodput_max,tcp_retransmits,mathis_bps,udp_goodput_bps,udp_goodput_min,udp_goodput_max,udp_loss_percent,udp_jitter_ms,rt_tcp_on_time,rt_udp_on_time,rt_tcp_p99_ms,rt_udp_p99_ms";
  const rows = result.levels.map((l) =>
    [
      l.loss,
      l.tcp.goodput.median,
      l.tcp.goodput.min,
      l.tcp.goodput.max,
      l.tcp.retransmits.median,
      l.mathis ?? "",
      l.udp.goodput.median,
      l.udp.goodput.min,
      l.udp.goodput.max,
      l.udp.lossPercent.median,
      l.udp.jitterMs.median,
      l.realtime?.tcp.onTime ?? "",
      l.realtime?.udp.onTime ?? "",
      l.realtime?.tcp.p99Ms ?? "",
      l.realtime?.udp.p99Ms ?? "",
    ].join(",")
  );
  return [header, ...rows].join("\n") + "\n";
}

/** Goodput against loss for both protocols, log scale, Mathis dashed beside TCP. */
export function sweepChart(result: SweepResult): string {
  const series = [
    {
      name: "TCP goodput",
      color: "#1f77b4",
      points: result.levels.map((l) => [l.loss, l.tcp.goodput.median] as [number, number]),
    },
    {
      name: "UDP goodput",
      color: "#d62728",
      points: result.levels.map((l) => [l.loss, l.udp.goodput.median] as [number, number]),
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

/** Writes <stem>.json, .csv and .svg; returns their paths. */
export async function saveSweep(
  result: SweepResult,
  stem: string,
): Promise<string[]> {
  const files = [`${stem}.json`, `${stem}.csv`, `${stem}.svg`];
  await Deno.writeTextFile(files[0], JSON.stringify(result, null, 2) + "\n");
  await Deno.writeTextFile(files[1], sweepCsv(result));
  await Deno.writeTextFile(files[2], sweepChart(result));
  return files;
}
