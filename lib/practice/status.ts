/**
 * The completion standard: where the learner stands on each kata, computed
 * from the attempt history and the mistake logs.
 *
 * @module
 */

import { Color, paint } from "../report/color.ts";
import { formatTable } from "../report/table.ts";
import { formatClock } from "./clock.ts";
import type { AttemptRecord } from "./history.ts";
import type { PracticeKata } from "./kata.ts";

/** One kata's standing. */
export interface KataStanding {
  kata: PracticeKata;
  attempts: number;
  passes: number;
  /** Fastest passing attempt. */
  bestMs?: number;
  last?: AttemptRecord;
  mistakes: number;
  /** Passing attempts within the time limit, counted back from the latest. */
  streak: number;
  /** The "repeat until" criterion, as the kit measures it. */
  repeatUntilMet: boolean;
}

/** Computes one kata's standing from its attempts (any order) and its mistake count. */
export function standingOf(
  kata: PracticeKata,
  attempts: readonly AttemptRecord[],
  mistakes: number,
): KataStanding {
  const mine = attempts.filter((attempt) => attempt.kata === kata.number)
    .sort((a, b) => a.started.localeCompare(b.started));
  const limitMs = (kata.repeatUntil.withinMinutes ?? kata.timeLimitMinutes) *
    60_000;
  const passes = mine.filter((attempt) => attempt.result === "pass");
  let streak = 0;
  for (let i = mine.length - 1; i >= 0; i--) {
    if (mine[i].result !== "pass" || mine[i].durationMs > limitMs) break;
    streak++;
  }
  return {
    kata,
    attempts: mine.length,
    passes: passes.length,
    bestMs: passes.length ? Math.min(...passes.map((attempt) => attempt.durationMs)) : undefined,
    last: mine.at(-1),
    mistakes,
    streak,
    repeatUntilMet: streak >= kata.repeatUntil.passesInARow,
  };
}

/** One line of the completion standard. */
export interface StandardItem {
  text: string;
  /** undefined: cannot be judged yet (the kata it needs is not built). */
  met: boolean | undefined;
  detail: string;
}

/**
 * The seed's completion standard, judged from the standings. Items that
 * depend on katas the kit cannot grade yet are reported as such.
 */
export function completionStandard(
  standings: readonly KataStanding[],
  gradable: (kata: number) => boolean,
): StandardItem[] {
  const byNumber = (n: number) => standings.find((standing) => standing.kata.number === n);
  const withinLimit = (n: number) => {
    const standing = byNumber(n);
    if (!standing) return false;
    return standing.bestMs !== undefined &&
      standing.bestMs <= standing.kata.timeLimitMinutes * 60_000;
  };
  const logged = standings.filter((standing) => standing.mistakes > 0).length;
  const pending = (n: number) => gradable(n) ? undefined : `Kata ${n}'s checker is not built yet`;
  return [
    {
      text: "Katas 1 and 2 each implemented in one sitting",
      met: withinLimit(1) && withinLimit(2),
      detail: [1, 2].map((n) => `Kata ${n}: ${withinLimit(n) ? "passed within the limit" : "not yet"}`).join(", "),
    },
    {
      text: "Kata 5 run and every packet labelled without reference",
      met: gradable(5) ? (byNumber(5)?.passes ?? 0) > 0 : undefined,
      detail: pending(5) ?? `${byNumber(5)?.passes ?? 0} passing runs`,
    },
    {
      text: "The TCP-vs-UDP trade-off measured in Kata 6 explained in one paragraph",
      met: gradable(6) ? (byNumber(6)?.passes ?? 0) > 0 : undefined,
      detail: pending(6) ?? `${byNumber(6)?.passes ?? 0} explained runs`,
    },
    {
      text: "At least one mistake logged per kata",
      met: logged === standings.length,
      detail: `${logged} of ${standings.length} katas have one`,
    },
  ];
}

const mark = (met: boolean | undefined) =>
  met === undefined ? paint(Color.gray, "–") : met ? paint(Color.green, "✓") : paint(Color.red, "✗");

/** The status board as text. */
export function formatStatus(
  standings: readonly KataStanding[],
  standard: readonly StandardItem[],
): string {
  const rows = standings.map((s) => {
    const limit = s.kata.timeLimitMinutes * 60_000;
    const last = s.last
      ? `${s.last.result} ${formatClock(s.last.durationMs)}${s.last.durationMs > limit ? " (over)" : ""}`
      : "–";
    return [
      String(s.kata.number),
      s.kata.title,
      String(s.attempts),
      String(s.passes),
      s.bestMs === undefined ? "–" : formatClock(s.bestMs),
      last,
      formatClock(limit),
      String(s.mistakes),
      `${mark(s.repeatUntilMet)} ${
        Math.min(s.streak, s.kata.repeatUntil.passesInARow)
      }/${s.kata.repeatUntil.passesInARow}`,
    ];
  });
  const table = formatTable(
    [
      "#",
      "kata",
      "attempts",
      "passes",
      "best",
      "last",
      "limit",
      "mistakes",
      "repeat until",
    ],
    rows,
  );
  const items = standard.map((item) => `  ${mark(item.met)} ${item.text}\n      ${item.detail}`);
  return [
    table,
    "",
    `"Repeat until" counts passing attempts in a row, each within the time limit.`,
    "",
    "Completion standard",
    ...items,
  ].join("\n");
}
