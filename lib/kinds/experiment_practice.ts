/**
 * The practice session of the loss experiment: predict first, then measure,
 * check that the data is sound, then explain it in one paragraph, graded by
 * the rubric on the card (lib/practice/explanation_rubric.ts) and saved with
 * the data. A session passes when the sweep is sound and the paragraph
 * meets every criterion.
 *
 * @module
 */

import type { CheckReport } from "../check/report.ts";
import { formatStage } from "../check/report.ts";
import { fixedSubject, runCheck } from "../check/run.ts";
import type { Stage } from "../check/stage.ts";
import { formatCrossover, formatMeasurement, formatRate } from "../loss/report.ts";
import type { SweepResult } from "../loss/sweep.ts";
import { formatClock } from "../practice/clock.ts";
import { type Figure, type Grade, gradeExplanation, type MeasuredSweep } from "../practice/explanation_rubric.ts";
import { askUntil } from "../practice/ask.ts";
import { appendAttempt } from "../practice/history.ts";
import type { PracticeKata } from "../practice/kata.ts";
import type { LogPaths } from "../practice/logs.ts";
import { printCard } from "../practice/session.ts";
import { formatTable } from "../report/table.ts";
import { type ExperimentContext, parseRate } from "../stages/experiment.ts";

/** What the learner predicted before measuring. */
export interface Predictions {
  /** The loss level the others are compared with: the lowest asked for (0 % by default). */
  baseline: number;
  /** TCP's goodput at each other level, in per cent of its goodput at the baseline. */
  tcp: { loss: number; percent: number }[];
  /** The lowest loss at which TCP's goodput falls below UDP's; null for never. */
  crossover: number | null;
}

/** What the session needs. */
export interface ExperimentSessionOptions {
  kata: PracticeKata & { loadStages(): Promise<readonly Stage<ExperimentContext>[]> };
  card: string;
  logs: LogPaths;
  losses: number[];
  /** Runs the sweep and saves it; returns the result and the files written. */
  measure(): Promise<{ result: SweepResult; files: string[] }>;
  /** Adds the predictions, the explanation and its grade to the saved JSON. */
  annotate(
    file: string,
    extra: { predictions: Predictions; explanation: string; grade: Grade },
  ): Promise<void>;
}

/**
 * The one place that reads a {@linkcode SweepResult} for the rubric: every
 * figure the session's tables show, as they print it, and each level's
 * medians. Loss levels asked for are settings, not figures.
 *
 * @example
 * ```ts ignore
 * import { measuredSweep } from "./experiment_practice.ts";
 * const grade = gradeExplanation(paragraph, measuredSweep(result));
 * ```
 */
export function measuredSweep(result: SweepResult): MeasuredSweep {
  const medians: Figure[] = [];
  const ranges: Figure[] = [];
  const add = (to: Figure[], value: number | null | undefined, unit: Figure["unit"], printed: string, what: string) => {
    if (value !== null && value !== undefined && Number.isFinite(value)) to.push({ value, unit, printed, what });
  };
  const rate = (to: Figure[], value: number, what: string) => add(to, value, "bit/s", formatRate(value), what);
  const share = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;
  const base = [...result.levels].sort((a, b) => a.loss - b.loss)[0];
  for (const level of result.levels) {
    const at = `at ${level.loss}%`;
    const { tcp, udp, realtime } = level;
    rate(medians, tcp.goodput.median, `TCP goodput ${at}`);
    rate(medians, udp.goodput.median, `UDP goodput ${at}`);
    const lost = udp.lossPercent.median;
    add(medians, lost, "%", `${lost.toFixed(2)}%`, `UDP loss measured ${at}`);
    add(medians, udp.jitterMs.median, "ms", `${udp.jitterMs.median.toFixed(3)} ms`, `UDP jitter ${at}`);
    if (base && level !== base) {
      const ratio = tcp.goodput.median / base.tcp.goodput.median;
      add(medians, ratio * 100, "%", share(ratio), `TCP ${at} as a share of its goodput at ${base.loss}%`);
    }
    for (const [name, run] of Object.entries(realtime ?? {})) {
      const over = `real-time over ${name.toUpperCase()} ${at}`;
      // Medians over the repeats, as the real-time table prints them.
      const onTime = run.onTime.median, delivered = run.delivered.median, p99 = run.p99Ms.median;
      add(medians, onTime * 100, "%", share(onTime), `${over}, on time`);
      add(medians, delivered * 100, "%", share(delivered), `${over}, delivered`);
      add(medians, p99, "ms", `${p99.toFixed(1)} ms`, `${over}, p99 latency`);
    }
    for (const [name, spread] of Object.entries(level.requests ?? {})) {
      const over = `request/response over ${name.toUpperCase()} ${at}`;
      const ms = (value: number) => `${value.toFixed(1)} ms`;
      add(medians, spread.medianMs.median, "ms", ms(spread.medianMs.median), `${over}, median completion`);
      add(medians, spread.p90Ms.median, "ms", ms(spread.p90Ms.median), `${over}, p90 completion`);
    }
    for (const [protocol, goodput] of [["TCP", tcp.goodput], ["UDP", udp.goodput]] as const) {
      rate(ranges, goodput.min, `${protocol} goodput ${at}, slowest run`);
      rate(ranges, goodput.max, `${protocol} goodput ${at}, fastest run`);
    }
  }
  return {
    levels: result.levels.map(({ loss, tcp, udp }) => ({
      loss,
      tcp: { bps: tcp.goodput.median, printed: formatRate(tcp.goodput.median) },
      udp: { bps: udp.goodput.median, printed: formatRate(udp.goodput.median) },
    })),
    figures: [...medians, ...ranges],
    udpRate: parseRate(result.options.udpRate),
  };
}

/**
 * A prediction of TCP's goodput in per cent of the baseline's: "50", "12.5 %". Undefined if it is not one.
 *
 * @example
 * ```ts
 * import { parsePercentOfBaseline } from "./experiment_practice.ts";
 * parsePercentOfBaseline("12.5 %"); // 12.5
 * parsePercentOfBaseline("half"); // undefined: asked again
 * ```
 */
export function parsePercentOfBaseline(answer: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*%?$/.exec(answer.trim());
  return match ? Number(match[1]) : undefined;
}

/**
 * A predicted crossover: a loss in per cent from 0 to 100, or null for "never". Undefined if it is neither.
 *
 * @example
 * ```ts
 * import { parseCrossover } from "./experiment_practice.ts";
 * parseCrossover("5%"); // 5
 * parseCrossover("never"); // null
 * ```
 */
export function parseCrossover(answer: string): number | null | undefined {
  const text = answer.trim().toLowerCase();
  if (text === "never") return null;
  const match = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text);
  const loss = match ? Number(match[1]) : NaN;
  return loss >= 0 && loss <= 100 ? loss : undefined;
}

/** The first level (by loss) where TCP's median goodput is below UDP's, and the level before it. */
function crossing(measured: MeasuredSweep) {
  const levels = measured.levels.filter((level) => Number.isFinite(level.tcp.bps) && Number.isFinite(level.udp.bps))
    .sort((a, b) => a.loss - b.loss);
  const index = levels.findIndex((level) => level.tcp.bps < level.udp.bps);
  return { levels, first: index === -1 ? undefined : levels[index], before: levels[index - 1] };
}

/**
 * The predictions beside the data: TCP's goodput as a share of the
 * baseline's, guessed and measured, then the crossover.
 *
 * @example
 * ```ts ignore
 * console.log(comparePredictions(predictions, measuredSweep(result)));
 * ```
 */
export function comparePredictions(predictions: Predictions, measured: MeasuredSweep): string {
  const base = measured.levels.find((level) => level.loss === predictions.baseline);
  const rows = predictions.tcp.map(({ loss, percent }) => {
    const level = measured.levels.find((level) => level.loss === loss);
    const share = level && base ? (level.tcp.bps / base.tcp.bps) * 100 : NaN;
    return [
      `${loss}%`,
      `${percent}%`,
      Number.isFinite(share) ? `${share.toFixed(1)}%` : "–",
      level?.tcp.printed ?? "–",
    ];
  });
  const table = formatTable(
    ["loss", "you said", "measured", "TCP goodput"],
    rows,
  );
  const said = predictions.crossover === null ? "never" : `${predictions.crossover}%`;
  const { levels, first, before } = crossing(measured);
  const guess = predictions.crossover;
  let verdict: string;
  if (first) {
    const right = guess !== null && guess <= first.loss && (before === undefined || guess > before.loss);
    verdict = `TCP fell below UDP first at ${first.loss}%${before ? ` (it was above at ${before.loss}%)` : ""}: ${
      right ? "right" : "off"
    }.`;
  } else {
    const highest = levels.at(-1)?.loss ?? 0;
    verdict = guess === null
      ? "TCP stayed above UDP at every level measured: right."
      : `TCP stayed above UDP at every level measured, up to ${highest}%: ${
        guess > highest ? "not contradicted" : "off"
      }.`;
  }
  return `TCP's goodput in per cent of its goodput at ${predictions.baseline}% loss:\n${table}\n` +
    `Crossover: you said ${said}; ${verdict}`;
}

/** The predictions, every one required; undefined when the learner stops (Ctrl-D). */
function askPredictions(losses: readonly number[]): Predictions | undefined {
  const baseline = Math.min(...losses);
  console.log(
    `First, predict: TCP's goodput at each loss level, in per cent of its goodput at ${baseline}% (100 = unchanged).`,
  );
  const tcp: Predictions["tcp"] = [];
  for (const loss of [...new Set(losses)].sort((a, b) => a - b).filter((loss) => loss !== baseline)) {
    const percent = askUntil(
      `TCP goodput at ${loss}% loss, in per cent of its goodput at ${baseline}%:`,
      parsePercentOfBaseline,
      "A number such as 50, please.",
    );
    if (percent === undefined) return undefined;
    tcp.push({ loss, percent });
  }
  const crossover = askUntil(
    "At which loss does TCP's goodput first fall below UDP's? A per cent, or never:",
    parseCrossover,
    "A loss in per cent (0 to 100), or never, please.",
  );
  return crossover === undefined ? undefined : { baseline, tcp, crossover };
}

/** Runs the kata's soundness stages on the sweep, printing each. */
async function checkSoundness(
  kata: ExperimentSessionOptions["kata"],
  file: string,
  result: SweepResult,
  udpRate: number,
): Promise<CheckReport> {
  console.log("\nIs the data sound?");
  const report = await runCheck(
    { ...kata, stages: await kata.loadStages() },
    fixedSubject(file, { result, udpRate }),
    { onResult: (stage) => console.log(formatStage(stage)) },
  );
  if (!report.passed) {
    console.log("\nThe sweep is not sound, so this session cannot pass: explain it all the same, then measure again.");
  }
  return report;
}

/** The rubric's verdict, one line per criterion. */
function formatGrade(grade: Grade): string {
  return grade.criteria.map(({ name, met, evidence }) => `  ${met ? "✓" : "✗"} ${name}\n      ${evidence}`).join("\n");
}

/**
 * Asks for the paragraph and grades it; while it falls short, offers a
 * revision (Enter keeps it). Undefined when the learner gives none.
 */
function askExplanation(measured: MeasuredSweep): { explanation: string; grade: Grade } | undefined {
  console.log(
    "\nIn one paragraph, from this data: where does TCP's goodput fall below UDP's, when is UDP the better choice, and what does “better” mean for a bulk transfer and for a real-time stream? (The card says how it is graded.)",
  );
  let explanation = askUntil(">", (answer) => answer || undefined, "One paragraph, please.");
  if (explanation === undefined) return undefined;
  while (true) {
    const grade = gradeExplanation(explanation, measured);
    console.log(`\n${formatGrade(grade)}`);
    if (grade.passed) return { explanation, grade };
    const revised = prompt("\nRevise your paragraph (Enter keeps it as it is):")?.trim();
    if (!revised) return { explanation, grade };
    explanation = revised;
  }
}

/**
 * Runs the session: predictions (every one required; Ctrl-D stops before
 * anything is measured), the measurement, the soundness stages, the
 * paragraph and its grade, the record. Without a terminal there can be no
 * predictions, so it does not measure.
 *
 * @example
 * ```ts ignore
 * import { experimentSession } from "./experiment_practice.ts";
 * await experimentSession({ kata, card, logs, losses: [0, 1, 5, 10], measure, annotate });
 * ```
 */
export async function experimentSession(options: ExperimentSessionOptions): Promise<void> {
  await printCard(options);
  if (!Deno.stdin.isTerminal()) {
    console.log("Practice starts with your predictions, and they need a terminal: no session here.");
    console.log("To measure without predicting (not a practice session):");
    console.log(`  deno task kata:${options.kata.number} run`);
    return;
  }
  const started = Date.now();
  const predictions = askPredictions(options.losses);
  if (!predictions) {
    console.log("\nStopped before measuring: nothing measured, nothing recorded.");
    return;
  }
  console.log("\nNow measuring…");
  const { result, files } = await options.measure();
  const measured = measuredSweep(result);
  if (result.notice) console.log(result.notice);
  console.log(`\n${formatMeasurement(result)}`);
  console.log(`\nChart and data: ${files.join(", ")}\n\n${comparePredictions(predictions, measured)}`);
  const soundness = await checkSoundness(options.kata, files[0], result, measured.udpRate ?? NaN);
  const answer = askExplanation(measured);
  const explanation = answer?.explanation ?? "";
  const grade = answer?.grade ?? gradeExplanation("", measured);
  // Read off the tables by the learner first; now the kit's own reading of
  // the same data, to compare with.
  const crossover = formatCrossover(result);
  if (crossover) console.log(`\nThe kit's reading of the same data. ${crossover}`);
  await options.annotate(files[0], { predictions, explanation, grade });
  const failed = [
    ...soundness.stages.filter((stage) => stage.status === "fail").map((stage) => stage.name),
    ...grade.criteria.filter((criterion) => !criterion.met).map((criterion) => `explanation: ${criterion.name}`),
  ];
  const durationMs = Date.now() - started;
  await appendAttempt(options.logs.history, {
    kata: options.kata.number,
    started: new Date(started).toISOString(),
    durationMs,
    result: failed.length === 0 ? "pass" : "fail",
    failedStages: failed,
    file: files[0].slice(options.logs.root.length + 1),
  });
  console.log(
    failed.length === 0
      ? `\nPassed: a sound sweep, explained from its own data, in ${formatClock(durationMs)}. Saved with the data.`
      : `\nSaved with the data. Recorded as not passed:\n${failed.map((line) => `  ${line}`).join("\n")}`,
  );
}
