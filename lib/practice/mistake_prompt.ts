/**
 * The question at the end of a passing session: one mistake to remember.
 * The stages that failed on the way are offered by number (the learner
 * made those mistakes minutes ago), or the learner writes their own.
 *
 * @module
 */

import { LineEditor } from "./line_editor.ts";

const encoder = new TextEncoder();
const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text));

/** The prompt's line, once the candidates are listed. */
export const MISTAKE_PROMPT = "One mistake you made this time (Enter to skip): ";

/**
 * Asks for one mistake with `nextKey` (raw mode is on), offering
 * `candidates` by number. Returns the mistake, or undefined when the learner
 * skipped it (Enter on an empty line) or cancelled (Ctrl-C, Ctrl-D, or the
 * end of input): a half-typed line is never kept.
 *
 * @example
 * ```ts ignore
 * import { askForMistake } from "./mistake_prompt.ts";
 * const mistake = await askForMistake(() => keys.next(), ["echoes a single byte failed"]);
 * ```
 */
export async function askForMistake(
  nextKey: () => Promise<IteratorResult<number>>,
  candidates: readonly string[],
): Promise<string | undefined> {
  if (candidates.length > 0) {
    write("Failed on the way (type its number to log it):\r\n");
    candidates.forEach((candidate, i) => write(`  ${i + 1}) ${candidate}\r\n`));
  }
  const editor = new LineEditor();
  write(MISTAKE_PROMPT);
  while (true) {
    const { value: key, done } = await nextKey();
    const result = done ? { done: "cancel" as const } : editor.feed(key);
    if (result.done === "cancel") {
      write("\r\nNothing logged.\r\n");
      return undefined;
    }
    if (result.done === "enter") break;
    write(editor.render(MISTAKE_PROMPT));
  }
  write("\r\n");
  const text = editor.text.trim();
  const chosen = /^\d+$/.test(text) ? candidates[Number(text) - 1] : undefined;
  return chosen ?? (text === "" ? undefined : text);
}
