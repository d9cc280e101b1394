/**
 * Where a learner's history lives. Everything is under one `logs/` folder
 * so that it is easy to back up, and git-ignored so that it stays theirs.
 *
 * ```
 * logs/attempts.jsonl              one JSON line per attempt, every kata
 * logs/01-echo-threaded.md         the mistake log of Kata 1
 * logs/01-echo-threaded/attempt-003.ts   the third fresh attempt
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

  attempts(kata: Pick<PracticeKata, "slug">): string {
    return `${this.root}/${kata.slug}`;
  }
}
