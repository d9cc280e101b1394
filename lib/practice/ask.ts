/**
 * A question asked on a line of its own (the terminal in its ordinary,
 * cooked mode, through `prompt()`) until the answer can be used.
 *
 * @module
 */

/**
 * Asks `question` until `parse` takes the answer (trimmed), saying `help`
 * after each one it cannot take; undefined when input ends (Ctrl-D).
 *
 * @example
 * ```ts ignore
 * import { askUntil } from "./ask.ts";
 * const percent = askUntil("TCP goodput at 5% loss, in per cent:", (answer) => {
 *   const value = Number(answer);
 *   return answer !== "" && Number.isFinite(value) ? value : undefined;
 * }, "A number such as 50, please.");
 * ```
 */
export function askUntil<T>(
  question: string,
  parse: (answer: string) => T | undefined,
  help: string,
): T | undefined {
  while (true) {
    const answer = prompt(question);
    if (answer === null) return undefined;
    const value = parse(answer.trim());
    if (value !== undefined) return value;
    console.log(`  ${help}`);
  }
}
