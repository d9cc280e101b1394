/**
 * Plain-text tables for the terminal: columns padded to their widest cell.
 *
 * @module
 */

/**
 * Renders rows under a header, columns separated by two spaces.
 *
 * @example
 * ```ts
 * import { formatTable } from "./table.ts";
 * console.log(formatTable(["kata", "passes"], [["1", "3"], ["2", "0"]]));
 * // kata  passes
 * // 1     3
 * // 2     0
 * ```
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  // A loop, not Math.max(...cells): spreading a long table's cells as
  // arguments overflows the stack past about 100 000 rows.
  const widths = header.map((cell) => visibleLength(cell));
  for (const row of rows) {
    for (const [column, cell] of row.entries()) {
      if (column < widths.length) widths[column] = Math.max(widths[column], visibleLength(cell));
    }
  }
  const line = (row: readonly string[]) =>
    row.map((cell, column) =>
      column === row.length - 1 ? cell : cell + " ".repeat(widths[column] - visibleLength(cell))
    ).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

/** Length as the terminal shows it: ANSI colour codes take no room. */
function visibleLength(text: string): number {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "").length;
}
