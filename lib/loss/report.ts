/**
 * The sweep's results for people (a table, a chart) and for programs (JSON,
 * CSV), saved side by side in logs/06-tcp-vs-udp/.
 *
 * @module
 */

import { lineChart, type Series } from "../report/svg_chart.ts";
import { formatTable } from "../report/table.ts";
import { createUniqueFile } from "../report/unique_file.ts";
import type { Spread } from "./stats.ts";
import type { RealtimeSpread, RequestSpread, SweepResult } from "./sweep.ts";

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
  const models = (level: SweepResult["levels"][number]) =>
    level.padhye === undefined ? "–" : `${formatRate(level.padhye)} / ${formatRate(level.mathis!)}`;
  const table = formatTable(
    [
      "loss",
      "TCP goodput",
      "retransmits (spurious)",
      "link drops",
      "models: Padhye / Mathis",
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
        tcp ? retransmits(level) : "–",
        linkDrops(level),
        models(level),
        udp ? range(level.udp.goodput.median, level.udp.goodput.min, level.udp.goodput.max, formatRate) : "failed",
        udp ? `${level.udp.lossPercent.median.toFixed(2)}%` : "–",
        udp ? `${level.udp.jitterMs.median.toFixed(3)} ms` : "–",
      ];
    }),
  );
  const failures = failedRuns(result);
  const dropped = receiverDrops(result);
  const withDrops = dropped ? `${table}\n${dropped}` : table;
  if (failures.length === 0) return withDrops;
  return `${withDrops}\n\n${failures.length} run${
    failures.length === 1 ? "" : "s"
  } failed (left out of the figures above):\n${failures.map((line) => `  ${line}`).join("\n")}`;
}

/** Retransmissions, median, with those the receiver reported as duplicates (D-SACK) where counted. */
function retransmits(level: SweepResult["levels"][number]): string {
  const all = String(Math.round(level.tcp.retransmits.median));
  const spurious = level.tcp.spuriousRetransmits;
  return spurious && Number.isFinite(spurious.median) ? `${all} (${Math.round(spurious.median)})` : all;
}

/**
 * What the kit's emulator dropped over a level, both directions: on
 * purpose ("loss") and because the bottleneck's queue was full ("queue"),
 * which is why TCP retransmits even at 0 % loss: it probes for the
 * capacity until the queue overflows.
 */
function linkDrops(level: SweepResult["levels"][number]): string {
  if (!level.link) return "–";
  const { forward, reverse } = level.link.counters;
  const lost = forward.droppedRandom + forward.droppedBurst + reverse.droppedRandom + reverse.droppedBurst;
  return `${lost} loss, ${forward.droppedQueue + reverse.droppedQueue} queue`;
}

/**
 * The UDP datagrams a full receive buffer dropped, per level and run, when
 * there were any: loss the machine added (a receiver not scheduled in
 * time), not the path.
 */
function receiverDrops(result: SweepResult): string | undefined {
  const levels = result.levels.filter((level) => level.udp.runs.some((run) => run.receiveBufferDrops));
  if (levels.length === 0) return undefined;
  return `UDP datagrams dropped by the receiver's full socket buffer (the machine, not the path): ${
    levels.map((level) => `${level.loss}%: ${level.udp.runs.map((run) => run.receiveBufferDrops ?? "?").join(", ")}`)
      .join("; ")
  }`;
}

/** Every failed run of the sweep, one line each: "5% loss, UDP run 2: the server is busy…". */
export function failedRuns(result: SweepResult): string[] {
  return result.levels.flatMap((level) =>
    level.failed.map((failure) => `${level.loss}% loss, ${failure.run}: ${failure.reason}`)
  );
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
const ms = (value: number) => Number.isFinite(value) ? `${value.toFixed(1)} ms` : "–";

/** The real-time workload: delivered, on time (median, min–max over the repeats), p99 latency, per protocol. */
export function formatRealtimeTable(result: SweepResult): string | undefined {
  const levels = result.levels.filter((level) => level.realtime);
  if (levels.length === 0) return undefined;
  const cell = (r: RealtimeSpread) =>
    `${percent(r.delivered.median)} / ${range(r.onTime.median, r.onTime.min, r.onTime.max, percent)} / ${
      ms(r.p99Ms.median)
    }`;
  const first = levels[0].realtime!.tcp;
  return `Real-time stream: ${
    Math.round(first.sent / (result.options.seconds || 1))
  } messages/s, deadline ${first.deadlineMs} ms, ${result.options.repeats} runs per level\n` +
    formatTable(
      ["loss", "TCP delivered / on time / p99", "UDP delivered / on time / p99"],
      levels.map((level) => [`${level.loss}%`, cell(level.realtime!.tcp), cell(level.realtime!.udp)]),
    );
}

/** The request/response workload: completion time, median (min–max over the repeats) and 90th percentile. */
export function formatRequestsTable(result: SweepResult): string | undefined {
  const levels = result.levels.filter((level) => level.requests);
  if (levels.length === 0) return undefined;
  const cell = (r: RequestSpread) =>
    `${range(r.medianMs.median, r.medianMs.min, r.medianMs.max, ms)} / ${ms(r.p90Ms.median)}${
      r.failed ? `, ${r.failed} failed` : ""
    }`;
  return `Request/response: ${levels[0].requests!.tcp.size} bytes per answer, a new TCP connection each; ` +
    `UDP asks again for missing pieces\n` +
    formatTable(
      ["loss", "TCP completion median / p90", "UDP completion median / p90"],
      levels.map((level) => [`${level.loss}%`, cell(level.requests!.tcp), cell(level.requests!.udp)]),
    );
}

/**
 * Every table of a sweep: bulk goodput, then the real-time stream and the
 * request/response workload where they were measured. Where TCP and UDP
 * cross is left to {@linkcode formatCrossover}: practice shows it only
 * after the learner has read it off these tables.
 *
 * @example
 * ```ts ignore
 * import { formatMeasurement } from "./report.ts";
 * console.log(formatMeasurement(result));
 * ```
 */
export function formatMeasurement(result: SweepResult): string {
  const tables = [formatSweepTable(result), formatRealtimeTable(result), formatRequestsTable(result)];
  return tables.filter((table) => table !== undefined).join("\n\n");
}

/** Where TCP collapses, where UDP becomes the better choice for each workload, and what the model says. */
export function formatCrossover(result: SweepResult): string | undefined {
  if (!result.crossover) return undefined;
  const lines = ["From the data:"];
  if (result.collapse) lines.push(`  collapse:         ${result.collapse.summary}.`);
  const offered = result.udpOfferedBps ? ` (UDP offered ${formatRate(result.udpOfferedBps)})` : "";
  lines.push(`  bulk goodput:     ${result.crossover.summary}${offered}.`);
  const workloads = result.workloadCrossovers;
  if (workloads?.realtime) lines.push(`  real-time stream: ${workloads.realtime.summary}.`);
  if (workloads?.requests) lines.push(`  request/response: ${workloads.requests.summary}.`);
  if (result.crossover.padhyePercent !== undefined) {
    lines.push(
      `The Padhye model (a model, from the path's RTT and MSS) has TCP below UDP's offered rate from ${
        result.crossover.padhyePercent.toPrecision(2)
      }% loss.`,
    );
  }
  return lines.join("\n");
}

/** One CSV row per loss level, medians and ranges. */
export function sweepCsv(result: SweepResult): string {
  const header = [
    "loss_percent,tcp_goodput_bps,tcp_goodput_min,tcp_goodput_max,tcp_retransmits,mathis_bps,udp_goodput_bps",
    "udp_goodput_min,udp_goodput_max,udp_loss_percent,udp_jitter_ms,rt_tcp_on_time,rt_udp_on_time,rt_tcp_p99_ms",
    "rt_udp_p99_ms,padhye_bps,rr_tcp_median_ms,rr_udp_median_ms,link_drops_loss,link_drops_queue,failed_runs",
  ].join(",");
  // A level where every run of a protocol failed has no figure: an empty cell, not NaN.
  const number = (value: number | undefined) => value !== undefined && Number.isFinite(value) ? value : "";
  const rows = result.levels.map((l) => {
    const counters = l.link?.counters;
    return [
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
      number(l.realtime?.tcp.onTime.median),
      number(l.realtime?.udp.onTime.median),
      number(l.realtime?.tcp.p99Ms.median),
      number(l.realtime?.udp.p99Ms.median),
      l.padhye ?? "",
      number(l.requests?.tcp.medianMs.median),
      number(l.requests?.udp.medianMs.median),
      counters
        ? counters.forward.droppedRandom + counters.forward.droppedBurst + counters.reverse.droppedRandom +
          counters.reverse.droppedBurst
        : "",
      counters ? counters.forward.droppedQueue + counters.reverse.droppedQueue : "",
      csvText(l.failed.map((failure) => `${failure.run}: ${failure.reason}`).join("; ")),
    ].join(",");
  });
  return [header, ...rows].join("\n") + "\n";
}

/** A CSV field: quoted (quotes doubled) when it holds a comma, quote or line break. */
function csvText(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A measured series: medians joined, min–max bars at every point, levels without data left out. */
function measured(
  name: string,
  color: string,
  levels: SweepResult["levels"],
  pick: (level: SweepResult["levels"][number]) => Spread | undefined,
): Series {
  const spreads = levels.map((l) => [l.loss, pick(l)] as const).filter(([, s]) => s && Number.isFinite(s.median));
  return {
    name,
    color,
    points: spreads.map(([x, s]) => [x, s!.median]),
    ranges: spreads.map(([x, s]) => [x, s!.min, s!.max]),
  };
}

function pathWords(result: SweepResult): string {
  const rtt = result.rttUs ? `RTT ${(result.rttUs / 1000).toFixed(1)} ms` : "";
  const rate = result.rateBps ? `bottleneck ${formatRate(result.rateBps)}` : "";
  return [result.method, rtt, rate, result.congestion].filter(Boolean).join(", ");
}

/** Goodput against loss for both protocols, log scale, min–max bars, the models dashed, UDP's offered rate drawn. */
export function sweepChart(result: SweepResult): string {
  const series: Series[] = [
    measured("TCP goodput", "#1f77b4", result.levels, (l) => l.tcp.goodput),
    measured("UDP goodput", "#d62728", result.levels, (l) => l.udp.goodput),
  ];
  const model = (name: string, color: string, pick: (l: SweepResult["levels"][number]) => number | undefined) => {
    const points = result.levels.map((l) => [l.loss, pick(l)] as const).filter(([, y]) => y !== undefined);
    if (points.length > 0) series.push({ name, color, model: true, points: points as [number, number][] });
  };
  model("Padhye (with timeouts)", "#2ca02c", (l) => l.padhye);
  model("Mathis MSS/(RTT·√p)", "#9467bd", (l) => l.mathis);
  const offered = result.udpOfferedBps;
  return lineChart({
    title: `TCP vs UDP goodput under packet loss (${pathWords(result)})`,
    xLabel: "packet loss (%)",
    yLabel: "goodput",
    series,
    references: offered ? [{ y: offered, label: `UDP offered: ${formatRate(offered)}`, color: "#d62728" }] : [],
    formatY: formatRate,
    note: `Dots: medians of ${result.options.repeats} runs; bars: min–max. Dashed: models, not measurements.${
      result.collapse?.between ? `\n${result.collapse.summary}.` : ""
    }`,
  });
}

/** The real-time stream: share of messages on time against loss (linear scale), with min–max bars. */
export function realtimeChart(result: SweepResult): string | undefined {
  if (!result.levels.some((l) => l.realtime)) return undefined;
  const deadline = result.levels.find((l) => l.realtime)!.realtime!.tcp.deadlineMs;
  return lineChart({
    title: `Real-time stream: messages on time (deadline ${deadline} ms; ${pathWords(result)})`,
    xLabel: "packet loss (%)",
    yLabel: "share on time",
    logY: false,
    series: [
      measured("over TCP", "#1f77b4", result.levels, (l) => l.realtime?.tcp.onTime),
      measured("over UDP", "#d62728", result.levels, (l) => l.realtime?.udp.onTime),
    ],
    formatY: (value) => `${Math.round(value * 100)}%`,
    note: `Dots: medians of ${result.options.repeats} runs; bars: min–max. A late message is as good as lost.`,
  });
}

/** Request/response: completion time against loss, log scale, with min–max bars. */
export function requestsChart(result: SweepResult): string | undefined {
  if (!result.levels.some((l) => l.requests)) return undefined;
  const size = result.levels.find((l) => l.requests)!.requests!.tcp.size;
  return lineChart({
    title: `Request/response: time to fetch ${size} bytes (${pathWords(result)})`,
    xLabel: "packet loss (%)",
    yLabel: "completion time",
    series: [
      measured("TCP median", "#1f77b4", result.levels, (l) => l.requests?.tcp.medianMs),
      measured("TCP 90th percentile", "#aec7e8", result.levels, (l) => l.requests?.tcp.p90Ms),
      measured("UDP median", "#d62728", result.levels, (l) => l.requests?.udp.medianMs),
      measured("UDP 90th percentile", "#ff9896", result.levels, (l) => l.requests?.udp.p90Ms),
    ],
    formatY: (value) => value >= 1000 ? `${value / 1000} s` : `${value} ms`,
    note: `Dots: medians over ${result.options.repeats} runs of each run's figure; bars: min–max.`,
  });
}

/**
 * Writes <stem>.json, .csv, .svg (goodput) and, where measured,
 * <stem>-realtime.svg and <stem>-requests.svg, and the transcript of every
 * command the run started as <stem>.log (to paste into a terminal); returns
 * their paths. Never overwrites: where <stem>.json exists (two runs in the
 * same second share a timestamp), the files become <stem>-2.*, <stem>-3.*
 * and so on.
 *
 * @example
 * ```ts ignore
 * const files = await saveSweep(result, "logs/06-tcp-vs-udp/2026-11-27T01-18-46", transcript.lines);
 * ```
 */
export async function saveSweep(
  result: SweepResult,
  stem: string,
  commands?: readonly string[],
): Promise<string[]> {
  const free = await createUniqueFile(stem, ".json", JSON.stringify(result, null, 2) + "\n");
  const files = [`${free}.json`, `${free}.csv`, `${free}.svg`];
  await Deno.writeTextFile(files[1], sweepCsv(result));
  await Deno.writeTextFile(files[2], sweepChart(result));
  for (const [suffix, chart] of [["realtime", realtimeChart(result)], ["requests", requestsChart(result)]]) {
    if (chart === undefined) continue;
    files.push(`${free}-${suffix}.svg`);
    await Deno.writeTextFile(files.at(-1)!, chart);
  }
  if (commands !== undefined) {
    files.push(`${free}.log`);
    await Deno.writeTextFile(
      files.at(-1)!,
      `# Every command this run started, in order (${result.started})\n${commands.join("\n")}\n`,
    );
  }
  return files;
}
