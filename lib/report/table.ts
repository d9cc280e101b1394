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
  const widths = header.map((cell, column) =>
    Math.max(
      visibleLength(cell),
      ...rows.map((row) => visibleLength(row[column] ?? "")),
    )
  );
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
