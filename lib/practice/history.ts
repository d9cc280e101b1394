/**
 * Attempt history: `logs/attempts.jsonl`, one JSON object per line. Lines are
 * only ever appended, so earlier attempts cannot be lost by a crash halfway
 * through a write, and a damaged line costs that line only.
 *
 * @module
 */

import type { StretchResult } from "../check/report.ts";

/** One attempt at a kata. */
export interface AttemptRecord {
  kata: number;
  /** ISO 8601 time the attempt started; a continued attempt keeps it. */
  started: string;
  /** ISO 8601 time the attempt was recorded: later than `started` plus the time on the clock when it was continued. */
  ended?: string;
  /** Time on the clock, over every sitting of the attempt. */
  durationMs: number;
  /**
   * "pass": every stage passed; "stopped": the learner stopped before a
   * pass (not a failure: it may be continued); "fail": graded and failed
   * (records of earlier versions of the kit, which wrote it for a stop).
   */
  result: "pass" | "fail" | "stopped";
  /** Names of the stages that failed at the last check (empty on a pass). */
  failedStages: string[];
  /** The attempt file, relative to the logs folder, when there is one. */
  file?: string;
  /** The kata's track ("syscalls"), when it has more than one; absent for the main one. */
  track?: string;
  /** A pass of `check --file` outside practice: no clock ran, `durationMs` is 0. */
  untimed?: boolean;
  /**
   * False when the attempt cannot count towards the kata's standard, pass
   * or not (Kata 5: labelling a capture the kit made). @default true
   */
  core?: boolean;
  /**
   * The part of the attempt that the "repeat until" limit times, when it is
   * not the whole session (Kata 5: making the capture, not labelling it).
   */
  timedMs?: number;
  /**
   * The stretch stages (beyond the seed's standard) at the last check, and
   * how each went; absent when the kata has none or none was graded.
   */
  stretch?: StretchResult[];
}

/**
 * Appends one record. A single `write` of one line with O_APPEND lands whole
 * at the end of the file even if another process appends at the same time.
 */
export async function appendAttempt(
  path: string,
  record: AttemptRecord,
): Promise<void> {
  const line = new TextEncoder().encode(JSON.stringify(record) + "\n");
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  using file = await Deno.open(path, { append: true, create: true });
  let written = 0;
  while (written < line.length) {
    written += await file.write(line.subarray(written));
  }
}

/** What {@linkcode readAttempts} found. */
export interface History {
  attempts: AttemptRecord[];
  /** Lines that were not a valid record (hand-edited, truncated); kept in the file, skipped here. */
  damagedLines: number[];
}

/** Reads every record; a missing file is an empty history. */
export async function readAttempts(path: string): Promise<History> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { attempts: [], damagedLines: [] };
    }
    throw error;
  }
  const attempts: AttemptRecord[] = [];
  const damagedLines: number[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    try {
      const record = JSON.parse(line);
      if (isAttemptRecord(record)) attempts.push(record);
      else damagedLines.push(index + 1);
    } catch {
      damagedLines.push(index + 1);
    }
  });
  return { attempts, damagedLines };
}

function isAttemptRecord(value: unknown): value is AttemptRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.kata === "number" &&
    typeof record.started === "string" &&
    typeof record.durationMs === "number" &&
    (record.result === "pass" || record.result === "fail" || record.result === "stopped") &&
    Array.isArray(record.failedStages) &&
    (record.track === undefined || typeof record.track === "string") &&
    (record.ended === undefined || typeof record.ended === "string") &&
    (record.untimed === undefined || typeof record.untimed === "boolean") &&
    (record.core === undefined || typeof record.core === "boolean") &&
    (record.timedMs === undefined || typeof record.timedMs === "number") &&
    (record.stretch === undefined || isStretchList(record.stretch));
}

function isStretchList(value: unknown): value is StretchResult[] {
  return Array.isArray(value) &&
    value.every((item) =>
      typeof item === "object" && item !== null && typeof item.name === "string" &&
      (item.status === "pass" || item.status === "fail" || item.status === "skip")
    );
}

/**
 * The attempts with each continued attempt once, as it last stood: a
 * record of the same kata, start time and file replaces the earlier one.
 *
 * @example
 * ```ts
 * import { latestPerAttempt } from "./history.ts";
 * const stopped = { kata: 1, started: "2026-11-27T10:00:00Z", durationMs: 60_000, result: "stopped" as const, failedStages: [] };
 * latestPerAttempt([stopped, { ...stopped, result: "pass", durationMs: 90_000 }]).length; // 1
 * ```
 */
export function latestPerAttempt(attempts: readonly AttemptRecord[]): AttemptRecord[] {
  const latest = new Map<string, AttemptRecord>();
  for (const attempt of attempts) {
    const key = JSON.stringify([attempt.kata, attempt.track, attempt.started, attempt.file]);
    latest.delete(key); // re-inserted: a continued attempt sits where it last ended
    latest.set(key, attempt);
  }
  return [...latest.values()];
}
