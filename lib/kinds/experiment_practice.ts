/**
 * The practice session of the loss experiment: predict first, then measure,
 * then explain from the data in one paragraph, which is saved with it.
 *
 * @module
 */

import { formatRate, formatRealtimeTable } from "../loss/report.ts";
import type { SweepResult } from "../loss/sweep.ts";
import { formatTable } from "../report/table.ts";
import { formatClock } from "../practice/clock.ts";
import { appendAttempt } from "../practice/history.ts";
import type { PracticeKata } from "../practice/kata.ts";
import type { LogPaths } from "../practice/logs.ts";
import { printCard } from "../practice/session.ts";

/** A learner's guess for one loss level, in Mbit/s. */
export interface Prediction {
  loss: number;
  tcpMbps?: number;
  udpMbps?: number;
}

/** What the session needs. */
export interface ExperimentSessionOptions {
  kata: PracticeKata;
  card: string;
  logs: LogPaths;
  losses: number[];
  /** Runs the sweep and saves it; returns the result and the files written. */
  measure(): Promise<{ result: SweepResult; files: string[] }>;
  /** Adds the predictions and explanation to the saved JSON. */
  annotate(
    file: string,
    extra: { predictions: Prediction[]; explanation: string },
  ): Promise<void>;
}

/** The fewest words an explanation may have to count as one. */
const MIN_WORDS = 30;

function askNumber(question: string): number | undefined {
  const answer = prompt(question)?.trim();
  if (!answer) return undefined;
  const value = Number(answer);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Runs the session; without a terminal it prints the card and the command. */
export async function experimentSession(
  options: ExperimentSessionOptions,
): Promise<void> {
  await printCard(options);
  if (!Deno.stdin.isTerminal()) {
    console.log("No terminal here, so no session. To run the experiment:");
    console.log(`  deno task kata:${options.kata.number} run`);
    return;
  }
  const started = Date.now();
  console.log("First, predict. Goodput in Mbit/s (Enter to skip a guess).");
  const predictions: Prediction[] = options.losses.map((loss) => ({
    loss,
    tcpMbps: askNumber(`TCP at ${loss}% loss:`),
    udpMbps: askNumber(`UDP at ${loss}% loss:`),
  }));
  console.log("\nNow measuring…");
  const { result, files } = await options.measure();
  const guess = (value: number | undefined) => value === undefined ? "–" : formatRate(value * 1e6);
  console.log(
    "\n" + formatTable(
      ["loss", "TCP you said", "TCP measured", "UDP you said", "UDP measured"],
      result.levels.map((level, i) => [
        `${level.loss}%`,
        guess(predictions[i]?.tcpMbps),
        formatRate(level.tcp.goodput.median),
        guess(predictions[i]?.udpMbps),
        formatRate(level.udp.goodput.median),
      ]),
    ),
  );
  const realtime = formatRealtimeTable(result);
  if (realtime) console.log(`\n${realtime}`);
  console.log(`\nChart and data: ${files.join(", ")}`);
  console.log(
    "\nIn one paragraph, from this data: where does TCP's goodput collapse, when is UDP the better choice, and what does “better” mean for a bulk transfer and for a real-time stream?",
  );
  const explanation = prompt(">")?.trim() ?? "";
  await options.annotate(files[0], { predictions, explanation });
  const words = explanation.split(/\s+/).filter(Boolean).length;
  const passed = words >= MIN_WORDS;
  const durationMs = Date.now() - started;
  await appendAttempt(options.logs.history, {
    kata: options.kata.number,
    started: new Date(started).toISOString(),
    durationMs,
    result: passed ? "pass" : "fail",
    failedStages: passed ? [] : [`explanation of ${words} words (at least ${MIN_WORDS})`],
    file: files[0].slice(options.logs.root.length + 1),
  });
  console.log(
    passed
      ? `Saved with the data, after ${formatClock(durationMs)}.`
      : `Saved, but ${words} words is not yet an explanation (at least ${MIN_WORDS}): recorded as not passed.`,
  );
}
