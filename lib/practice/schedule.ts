/**
 * What to practise next: spaced repetition over the attempt history. A kata
 * passed within its time limit comes back after 1, 3, 7, then 21 days (each
 * pass in a row climbs one step); a failure, or a pass over the limit,
 * brings it back tomorrow and starts the ladder again. What a pass in a row
 * is, is the "repeat until" criterion's (`repeat_until.ts`): the status
 * board's streak and this ladder are one count. Memory of a skill fades unless it is used just as
 * it begins to fade: the gaps grow as long as the learner keeps passing.
 *
 * @module
 */

import type { AttemptRecord } from "./history.ts";
import type { PracticeKata } from "./kata.ts";
import { endedAt, type RowStep, rowStep } from "./repeat_until.ts";

/** The gaps between reviews, in days, one step per pass within the limit in a row. */
export const INTERVALS_DAYS: readonly number[] = [1, 3, 7, 21];

const DAY_MS = 86_400_000;

/** When a kata is next due, and why. */
export interface Due {
  /** When it is due; undefined for a kata never tried (due now). */
  at?: Date;
  isDue: boolean;
  /** The reason in a few words: "never tried", "failed last time", "passed within the limit 2 times in a row". */
  reason: string;
}

/**
 * When `kata` is next due, from its attempts (any order, other katas and
 * tracks already left out) and the time `now`. A stopped attempt does not
 * count (it may be continued); a pass over the limit is a step down, as a
 * failure is; an untimed pass (a check outside practice) or one outside the
 * kata's core brings the kata back tomorrow without climbing.
 *
 * @example
 * ```ts
 * import { dueOf } from "./schedule.ts";
 * const kata = { number: 1, slug: "01", title: "Echo", timeLimitMinutes: 30, repeatUntil: { text: "", passesInARow: 3 } };
 * const pass = { kata: 1, started: "2026-11-01T09:00:00Z", durationMs: 600_000, result: "pass" as const, failedStages: [] };
 * dueOf(kata, [pass], new Date("2026-11-01T12:00:00Z")).at; // 2026-11-02T09:00:00Z: tomorrow
 * ```
 */
export function dueOf(kata: PracticeKata, attempts: readonly AttemptRecord[], now: Date): Due {
  // A continued attempt counts from when it ended: that is when the learner last practised.
  const graded = attempts.filter((attempt) => attempt.result !== "stopped").sort((a, b) => endedAt(a) - endedAt(b));
  if (graded.length === 0) return { isDue: true, reason: "never tried" };
  let inARow = 0;
  let gapDays = 1;
  for (const attempt of graded) {
    const step = rowStep(kata, attempt);
    if (step === "breaks") inARow = 0;
    if (step === "counts") inARow++;
    gapDays = step === "counts" ? INTERVALS_DAYS[Math.min(inARow, INTERVALS_DAYS.length) - 1] : 1;
  }
  const last = graded.at(-1)!;
  const at = new Date(endedAt(last) + gapDays * DAY_MS);
  return { at, isDue: at <= now, reason: reasonOf(last, rowStep(kata, last), inARow) };
}

function reasonOf(last: AttemptRecord, step: RowStep, inARow: number): string {
  if (last.result !== "pass") return "failed last time";
  if (last.untimed) return "passed last time, untimed";
  if (step === "neither") return "passed last time, outside the kata's standard";
  if (step === "breaks") return "passed last time, over the limit";
  return `passed within the limit ${inARow === 1 ? "once" : `${inARow} times in a row`}`;
}
