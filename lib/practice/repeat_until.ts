/**
 * The "repeat until" criterion's one definition of a pass in a row, shared
 * by the status board's streak and the schedule's ladder. A card says "3
 * passing attempts in a row, each within the time limit": a pass within the
 * limit counts; a failure, or a pass over the limit, breaks the row; a stop
 * (it may be continued), an untimed pass (`check --file` outside practice:
 * no clock ran) and an attempt outside the kata's core (Kata 5 with the
 * kit's capture) neither count nor break it. The limit is the criterion's
 * own where it has one (Kata 5: the capture within two minutes), applied to
 * what it times. Attempts stand in the order they ended.
 *
 * @module
 */

import type { AttemptRecord } from "./history.ts";
import type { PracticeKata } from "./kata.ts";

/** What one attempt does to the row. */
export type RowStep = "counts" | "breaks" | "neither";

/**
 * When an attempt stands in the row: a continued attempt where it ended,
 * which is when the learner last practised.
 *
 * @example
 * ```ts
 * import { endedAt } from "./repeat_until.ts";
 * endedAt({ kata: 1, started: "2026-11-01T09:00:00Z", durationMs: 1, result: "pass", failedStages: [] }); // 1793523600000
 * ```
 */
export function endedAt(attempt: AttemptRecord): number {
  return Date.parse(attempt.ended ?? attempt.started);
}

/**
 * The limit of the criterion, in milliseconds: its own where it has one, else the kata's.
 *
 * @example
 * ```ts
 * import { rowLimitMs } from "./repeat_until.ts";
 * rowLimitMs({ number: 5, slug: "05", title: "Capture", timeLimitMinutes: 20, repeatUntil: { text: "", passesInARow: 3, withinMinutes: 2 } }); // 120000
 * ```
 */
export function rowLimitMs(kata: Pick<PracticeKata, "timeLimitMinutes" | "repeatUntil">): number {
  return (kata.repeatUntil.withinMinutes ?? kata.timeLimitMinutes) * 60_000;
}

/**
 * What `attempt` does to `kata`'s row of passes.
 *
 * @example
 * ```ts
 * import { rowStep } from "./repeat_until.ts";
 * const kata = { number: 1, slug: "01", title: "Echo", timeLimitMinutes: 30, repeatUntil: { text: "", passesInARow: 3 } };
 * const pass = { kata: 1, started: "2026-11-01T09:00:00Z", durationMs: 45 * 60_000, result: "pass" as const, failedStages: [] };
 * rowStep(kata, pass); // "breaks": over the limit
 * ```
 */
export function rowStep(kata: Pick<PracticeKata, "timeLimitMinutes" | "repeatUntil">, attempt: AttemptRecord): RowStep {
  if (attempt.result === "stopped" || attempt.core === false) return "neither";
  if (attempt.result !== "pass") return "breaks";
  if (attempt.untimed) return "neither";
  return (attempt.timedMs ?? attempt.durationMs) > rowLimitMs(kata) ? "breaks" : "counts";
}

/**
 * Passes in a row, counted back from the latest of `attempts` (any order;
 * only `kata`'s own, on one track).
 *
 * @example
 * ```ts
 * import { passesInARow } from "./repeat_until.ts";
 * const kata = { number: 1, slug: "01", title: "Echo", timeLimitMinutes: 30, repeatUntil: { text: "", passesInARow: 3 } };
 * const pass = { kata: 1, started: "2026-11-01T09:00:00Z", durationMs: 600_000, result: "pass" as const, failedStages: [] };
 * passesInARow(kata, [pass, { ...pass, started: "2026-11-02T09:00:00Z" }]); // 2
 * ```
 */
export function passesInARow(
  kata: Pick<PracticeKata, "timeLimitMinutes" | "repeatUntil">,
  attempts: readonly AttemptRecord[],
): number {
  let inARow = 0;
  for (const attempt of attempts.toSorted((a, b) => endedAt(b) - endedAt(a))) {
    const step = rowStep(kata, attempt);
    if (step === "breaks") break;
    if (step === "counts") inARow++;
  }
  return inARow;
}
