/**
 * Where a learner's history lives. Everything is under one `logs/` folder
 * so that it is easy to back up, and git-ignored so that it stays theirs.
 *
 * ```
 * logs/attempts.jsonl              one JSON line per attempt, every kata
 * logs/01-echo-threaded.md         the mistake log of Kata 1
 * logs/01-echo-threaded/attempt-003.ts   the third fresh attempt
 * logs/01-echo-threaded/syscalls/attempt-001.ts   the first of the syscall track
 * ```
 *
 * @module
 */

import type { PracticeKata } from "./kata.ts";

/** Paths of one learner's logs. */
export class LogPaths {
  /** @param root the `logs/` folder, e.g. `new URL("../logs/", import.meta.url)` or a path */
  constructor(readonly root: string) {}

  get history(): string {
    return `${this.root}/attempts.jsonl`;
  }

  mistakes(kata: Pick<PracticeKata, "slug">): string {
    return `${this.root}/${kata.slug}.md`;
  }

  /** The kata's attempts; a track's in a folder of their own: `logs/01-echo-threaded/syscalls/`. */
  attempts(kata: Pick<PracticeKata, "slug" | "track">): string {
    return `${this.root}/${kata.slug}${kata.track ? `/${kata.track}` : ""}`;
  }

  /** A new file in the kata's folder named by the time: `…/2026-11-27T01-18-46.pcap`. */
  async timestamped(kata: Pick<PracticeKata, "slug">, extension = ""): Promise<string> {
    await Deno.mkdir(this.attempts(kata), { recursive: true });
    return `${this.attempts(kata)}/${fileTimestamp()}${extension}`;
  }
}

/** The time, usable in a file name on every system (no colons): `2026-11-27T01-18-46`. */
export function fileTimestamp(date: Date = new Date()): string {
  return date.toISOString().replaceAll(":", "-").slice(0, 19);
}
