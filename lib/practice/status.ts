/**
 * The completion standard: where the learner stands on each kata, computed
 * from the attempt history and the mistake logs, and which kata is due
 * (`schedule.ts`).
 *
 * @module
 */

import { Color, paint } from "../report/color.ts";
import { formatTable } from "../report/table.ts";
import { formatClock } from "./clock.ts";
import { type AttemptRecord, latestPerAttempt } from "./history.ts";
import type { CompletionItem, PracticeKata } from "./kata.ts";
import { endedAt, passesInARow } from "./repeat_until.ts";
import { type Due, dueOf } from "./schedule.ts";

/** One kata's standing, on one track. */
export interface KataStanding {
  kata: PracticeKata;
  /** The track ("syscalls"); undefined for the kata's main one. */
  track?: string;
  attempts: number;
  passes: number;
  /** Attempts the learner stopped before a pass (not failures). */
  stopped: number;
  /** Fastest timed passing attempt. */
  bestMs?: number;
  /** That attempt: the evidence for "passed within the limit". */
  best?: AttemptRecord;
  last?: AttemptRecord;
  mistakes: number;
  /** Passes in a row, counted back from the latest, as the "repeat until" criterion defines them (`repeat_until.ts`). */
  streak: number;
  /** The "repeat until" criterion, as the kit measures it. */
  repeatUntilMet: boolean;
  /** When to practise it next. */
  due: Due;
  /**
   * The stretch stages graded on this track: those passed at least once, and
   * those not yet. Undefined when none was ever graded.
   */
  stretch?: { passed: string[]; notYet: string[] };
}

/** Options for {@linkcode standingOf}. */
export interface StandingOptions {
  /** Only attempts on this track; undefined: the main track. @default undefined */
  track?: string;
  /** The time the schedule is judged at. @default new Date() */
  now?: Date;
}

/**
 * Computes one kata's standing on one track from the attempts (any order,
 * any kata: the kata's own are picked out) and its mistake count.
 *
 * @example
 * ```ts ignore
 * import { standingOf } from "./status.ts";
 * standingOf(kata, history.attempts, 2).streak;
 * ```
 */
export function standingOf(
  kata: PracticeKata,
  attempts: readonly AttemptRecord[],
  mistakes: number,
  options: StandingOptions = {},
): KataStanding {
  const mine = latestPerAttempt(attempts)
    .filter((attempt) => attempt.kata === kata.number && attempt.track === options.track)
    .sort((a, b) => endedAt(a) - endedAt(b));
  const passes = mine.filter((attempt) => attempt.result === "pass");
  const timed = passes.filter((attempt) => !attempt.untimed);
  const streak = passesInARow(kata, mine);
  const best = timed.reduce<AttemptRecord | undefined>((b, a) => !b || a.durationMs < b.durationMs ? a : b, undefined);
  return {
    kata,
    track: options.track,
    attempts: mine.length,
    passes: passes.length,
    stopped: mine.filter((attempt) => attempt.result === "stopped").length,
    bestMs: best?.durationMs,
    best,
    last: mine.at(-1),
    mistakes,
    streak,
    repeatUntilMet: streak >= kata.repeatUntil.passesInARow,
    due: dueOf(kata, mine, options.now ?? new Date()),
    stretch: stretchOf(mine),
  };
}

/**
 * A stretch stage counts once it has passed in any attempt: it is shown
 * beside the standard, never part of it, so one pass is the evidence.
 */
function stretchOf(attempts: readonly AttemptRecord[]): KataStanding["stretch"] {
  const passed = new Set<string>();
  const seen = new Set<string>();
  for (const attempt of attempts) {
    for (const stage of attempt.stretch ?? []) {
      seen.add(stage.name);
      if (stage.status === "pass") passed.add(stage.name);
    }
  }
  if (seen.size === 0) return undefined;
  return {
    passed: [...seen].filter((name) => passed.has(name)),
    notYet: [...seen].filter((name) => !passed.has(name)),
  };
}

/**
 * A kata's standings, one per track found in the history: the main track
 * first (always), then the others by name.
 *
 * @example
 * ```ts ignore
 * import { standingsOf } from "./status.ts";
 * standingsOf(kata, history.attempts, 1).map((s) => s.track); // [undefined, "syscalls"]
 * ```
 */
export function standingsOf(
  kata: PracticeKata,
  attempts: readonly AttemptRecord[],
  mistakes: number,
  now: Date = new Date(),
): KataStanding[] {
  const tracks = new Set(attempts.filter((a) => a.kata === kata.number && a.track !== undefined).map((a) => a.track));
  return [undefined, ...[...tracks].sort()].map((track) => standingOf(kata, attempts, mistakes, { track, now }));
}

/** One line of the completion standard, judged. */
export interface StandardItem {
  text: string;
  met: boolean;
  /** The evidence: per kata, what was met and when, or how far it is. */
  detail: string;
}

/**
 * The completion standard, judged from the standings: one line per item the
 * katas name (in catalog order; katas naming the same item share its line),
 * then one for the mistake log, which every kata counts towards. A kata
 * with several tracks meets an item when any of its tracks does.
 *
 * @example
 * ```ts ignore
 * import { completionStandard } from "./status.ts";
 * for (const item of completionStandard(standings)) console.log(item.met, item.text, item.detail);
 * ```
 */
export function completionStandard(standings: readonly KataStanding[]): StandardItem[] {
  const byKata = new Map<number, KataStanding[]>();
  for (const standing of standings) {
    byKata.set(standing.kata.number, [...(byKata.get(standing.kata.number) ?? []), standing]);
  }
  const items = new Map<string, { needs: CompletionItem["needs"]; standing: KataStanding }[]>();
  for (const tracks of byKata.values()) {
    for (const { text, needs } of tracks[0].kata.completion ?? []) {
      const standing = tracks.find((track) => meets(needs, track)) ?? tracks[0];
      items.set(text, [...(items.get(text) ?? []), { needs, standing }]);
    }
  }
  const judged = [...items].map(([text, katas]) => ({
    text,
    met: katas.every(({ needs, standing }) => meets(needs, standing)),
    detail: katas.map(({ needs, standing }) => `Kata ${standing.kata.number}: ${evidence(needs, standing)}`).join(", "),
  }));
  const mains = [...byKata.values()].map((tracks) => tracks[0]);
  return [
    ...judged,
    {
      text: "At least one mistake logged per kata",
      met: mains.every((standing) => standing.mistakes > 0),
      detail: mains.map((s) => `Kata ${s.kata.number}: ${s.mistakes > 0 ? `${s.mistakes} logged` : "none yet"}`)
        .join(", "),
    },
  ];
}

function meets(needs: CompletionItem["needs"], standing: KataStanding): boolean {
  if (needs === "pass") return standing.passes > 0;
  return standing.bestMs !== undefined && standing.bestMs <= standing.kata.timeLimitMinutes * 60_000;
}

function evidence(needs: CompletionItem["needs"], standing: KataStanding): string {
  if (needs === "pass") return `${standing.passes} passing attempt${standing.passes === 1 ? "" : "s"}`;
  const limit = `limit ${formatClock(standing.kata.timeLimitMinutes * 60_000)}`;
  const best = standing.best;
  if (!best) return standing.passes > 0 ? "not yet (passed untimed only)" : "not yet";
  if (!meets(needs, standing)) return `not yet (best ${formatClock(best.durationMs)}, ${limit})`;
  return `passed in ${formatClock(best.durationMs)} on ${best.started.slice(0, 10)} (${limit})`;
}

const mark = (met: boolean) => met ? paint(Color.green, "✓") : paint(Color.red, "✗");

/** "due now", "due in 3 days", "due since 2 days", "due tomorrow". */
export function formatDue(due: Due, now: Date = new Date()): string {
  if (!due.at) return "due now";
  const days = Math.round((due.at.getTime() - now.getTime()) / 86_400_000);
  if (!due.isDue) return days <= 1 ? `due ${due.at.toISOString().slice(0, 10)}` : `due in ${days} days`;
  return days >= 0 ? "due now" : `due since ${-days} day${days === -1 ? "" : "s"}`;
}

/**
 * The standings due now, the one to practise first first: reviews by how
 * long they have been due, then katas never tried, in catalog order.
 */
export function dueNow(standings: readonly KataStanding[]): KataStanding[] {
  const due = standings.filter((standing) => standing.due.isDue);
  const time = (standing: KataStanding) => standing.due.at?.getTime() ?? Infinity;
  return due.toSorted((a, b) => time(a) - time(b));
}

const nameOf = (s: KataStanding) => `${s.kata.title}${s.track ? ` (${s.track} track)` : ""}`;

function row(s: KataStanding, now: Date): string[] {
  const limit = s.kata.timeLimitMinutes * 60_000;
  const last = s.last
    ? `${s.last.result} ${s.last.untimed ? "untimed" : formatClock(s.last.durationMs)}${
      !s.last.untimed && s.last.durationMs > limit ? " (over)" : ""
    }`
    : "–";
  const goal = s.kata.repeatUntil.passesInARow;
  return [
    String(s.kata.number),
    nameOf(s),
    String(s.attempts),
    String(s.passes),
    s.bestMs === undefined ? "–" : formatClock(s.bestMs),
    last,
    formatClock(limit),
    String(s.mistakes),
    `${mark(s.repeatUntilMet)} ${Math.min(s.streak, goal)}/${goal}`,
    s.stretch ? `${s.stretch.passed.length}/${s.stretch.passed.length + s.stretch.notYet.length}` : "–",
    formatDue(s.due, now),
  ];
}

/** The status board as text: the table, what to practise next, the completion standard with its evidence. */
export function formatStatus(
  standings: readonly KataStanding[],
  standard: readonly StandardItem[],
  now: Date = new Date(),
): string {
  const table = formatTable(
    ["#", "kata", "attempts", "passes", "best", "last", "limit", "mistakes", "repeat until", "stretch", "next"],
    standings.map((standing) => row(standing, now)),
  );
  const due = dueNow(standings);
  const label = (s: KataStanding) => `Kata ${s.kata.number}${s.track ? ` (${s.track})` : ""}`;
  const command = (s: KataStanding) => `deno task kata:${s.kata.number}${s.track ? ` --track ${s.track}` : ""}`;
  const next = due.length === 0
    ? `Nothing is due: the next one is ${
      standings.map((s) => s.due.at!).toSorted((a, b) => a.getTime() - b.getTime())[0]?.toISOString().slice(0, 10)
    }.`
    : [
      `Practise next: ${label(due[0])}, ${nameOf(due[0])}, ${formatDue(due[0].due, now)} (${due[0].due.reason}): ${
        command(due[0])
      }`,
      ...(due.length > 1 ? [`Also due: ${due.slice(1).map(label).join(", ")}`] : []),
    ].join("\n");
  const items = standard.map((item) => `  ${mark(item.met)} ${item.text}\n      ${item.detail}`);
  const stretched = standings.filter((s) => s.stretch);
  const stretch = stretched.length === 0 ? [] : [
    "",
    "Stretch (beyond the standard)",
    ...stretched.map((s) => {
      const { passed, notYet } = s.stretch!;
      const rest = notYet.length === 0 ? "" : `; not yet: ${notYet.join("; ")}`;
      return `  Kata ${s.kata.number}, ${nameOf(s)}: ${passed.length} of ${
        passed.length + notYet.length
      } passed${rest}`;
    }),
  ];
  return [
    table,
    "",
    `"Repeat until" counts passing attempts in a row, each within the time limit; a stop does not break it.`,
    `"Next" spaces passes within the limit 1, 3, 7, then 21 days apart; a failure, or a pass over the limit, brings a kata back the next day.`,
    "",
    next,
    "",
    "Completion standard",
    ...items,
    ...stretch,
  ].join("\n");
}
