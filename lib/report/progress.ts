/**
 * A progress bar on stderr, drawn in place when stderr is a terminal and
 * as plain lines otherwise (so logs and CI output stay readable). It never
 * swallows errors: it only draws.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Draws `done` of `total` with a label; call with done === total to finish the line. */
export function drawProgress(done: number, total: number, label: string): void {
  const width = 30;
  const filled = total ? Math.round((done / total) * width) : width;
  const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${label}`;
  if (Deno.stderr.isTerminal()) {
    Deno.stderr.writeSync(
      encoder.encode(`\r\x1b[2K${bar}${done === total ? "\n" : ""}`),
    );
  } else {
    Deno.stderr.writeSync(encoder.encode(`${bar}\n`));
  }
}
