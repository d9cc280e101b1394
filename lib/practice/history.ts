/**
 * Attempt history: `logs/attempts.jsonl`, one JSON object per line. Lines are
 * only ever appended, so earlier attempts cannot be lost by a crash halfway
 * through a write, and a damaged line costs that line only.
 *
 * @module
 */

/** One attempt at a kata. */
export interface AttemptRecord {
  kata: number;
  /** ISO 8601 time the attempt started. */
  started: string;
  durationMs: number;
  /** "pass": every stage passed; "fail": the learner stopped with stages failing. */
  result: "pass" | "fail";
  /** Names of the stages that failed at the last check (empty on a pass). */
  failedStages: string[];
  /** The attempt file, relative to the logs folder, when there is one. */
  file?: string;
  /** The track, when not the kata's default one: "syscalls". */
  track?: string;
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
    (record.result === "pass" || record.result === "fail") &&
    Array.isArray(record.failedStages) &&
    (record.track === undefined || typeof record.track === "string");
}
