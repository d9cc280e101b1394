/**
 * The per-kata mistake log: a Markdown file the learner can also edit by
 * hand. Each mistake is one list item, newest last:
 *
 * ```md
 * # Mistakes · Kata 1 · Concurrent echo server
 *
 * - 2026-11-27: forgot to loop on partial writes
 * ```
 *
 * @module
 */

import type { PracticeKata } from "./kata.ts";
import type { LogPaths } from "./logs.ts";

/** Appends one mistake, creating the file with a heading the first time. */
export async function appendMistake(
  path: string,
  heading: string,
  mistake: string,
  when: Date = new Date(),
): Promise<void> {
  const text = mistake.replace(/\s+/g, " ").trim();
  if (text === "") {
    throw new TypeError(
      'Cannot log an empty mistake: say what went wrong, e.g. "forgot htons"',
    );
  }
  let prefix = "";
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  try {
    await Deno.stat(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    prefix = `# ${heading}\n\n`;
  }
  const line = `${prefix}- ${when.toISOString().slice(0, 10)}: ${text}\n`;
  await Deno.writeTextFile(path, line, { append: true, create: true });
}

/**
 * Logs `mistake` in `kata`'s mistake log under `logs`, and says where: what
 * the practice sessions and `deno task kata:N log` all do.
 *
 * @example
 * ```ts ignore
 * import { logMistake } from "./mistakes.ts";
 * await logMistake(new LogPaths("logs"), kata, "forgot htons"); // prints "Logged in logs/01-echo-threaded.md."
 * ```
 */
export async function logMistake(
  logs: LogPaths,
  kata: Pick<PracticeKata, "number" | "slug" | "title">,
  mistake: string,
): Promise<void> {
  await appendMistake(logs.mistakes(kata), `Mistakes · Kata ${kata.number} · ${kata.title}`, mistake);
  console.log(`Logged in ${logs.mistakes(kata)}.`);
}

/** Every logged mistake, oldest first, without the date. */
export async function readMistakes(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return text.split("\n")
    .filter((line) => /^\s*[-*] /.test(line))
    .map((line) => line.replace(/^\s*[-*] (\d{4}-\d{2}-\d{2}: )?/, "").trim())
    .filter((line) => line !== "");
}
