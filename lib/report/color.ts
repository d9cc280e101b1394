/**
 * ANSI colour for the terminal, and none when the output is a pipe, a file
 * or NO_COLOR is set: logs and CI output stay plain text.
 *
 * @module
 */

const enabled = !Deno.noColor && Deno.stdout.isTerminal();

/** Colour codes used by the kit. */
export const Color = { red: 31, green: 32, yellow: 33, gray: 90 } as const;

/** Wraps `text` in a colour when the output is a terminal. */
export function paint(color: number, text: string): string {
  return enabled ? `\x1b[${color}m${text}\x1b[0m` : text;
}
