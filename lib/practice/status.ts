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
import type { CompletionItem, PracticeKata } from "./kata.ts";

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
  const mine = attempts.filter((attempt) => attempt.kata === kata.number && attempt.track === kata.track)
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

/** One line of the completion standard, judged. */
export interface StandardItem {
  text: string;
  met: boolean;
  detail: string;
}

/**
 * The completion standard, judged from the standings: one line per item the
 * katas name (in catalog order; katas naming the same item share its line),
 * then one for the mistake log, which every kata counts towards.
 *
 * @example
 * ```ts ignore
 * import { completionStandard } from "./status.ts";
 * for (const item of completionStandard(standings)) console.log(item.met, item.text);
 * ```
 */
export function completionStandard(
  standings: readonly KataStanding[],
): StandardItem[] {
  const items = new Map<string, { needs: CompletionItem["needs"]; standing: KataStanding }[]>();
  for (const standing of standings) {
    for (const { text, needs } of standing.kata.completion ?? []) {
      items.set(text, [...(items.get(text) ?? []), { needs, standing }]);
    }
  }
  const judged = [...items].map(([text, katas]) => ({
    text,
    met: katas.every(({ needs, standing }) => meets(needs, standing)),
    detail: katas.map(({ needs, standing }) => `Kata ${standing.kata.number}: ${describe(needs, standing)}`).join(", "),
  }));
  const logged = standings.filter((standing) => standing.mistakes > 0).length;
  return [
    ...judged,
    {
      text: "At least one mistake logged per kata",
      met: logged === standings.length,
      detail: `${logged} of ${standings.length} katas have one`,
    },
  ];
}

function meets(needs: CompletionItem["needs"], standing: KataStanding): boolean {
  if (needs === "pass") return standing.passes > 0;
  return standing.bestMs !== undefined && standing.bestMs <= standing.kata.timeLimitMinutes * 60_000;
}

function describe(needs: CompletionItem["needs"], standing: KataStanding): string {
  if (needs === "pass") return `${standing.passes} passing attempt${standing.passes === 1 ? "" : "s"}`;
  return meets(needs, standing) ? "passed within the limit" : "not yet";
}

const mark = (met: boolean) => met ? paint(Color.green, "✓") : paint(Color.red, "✗");

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
