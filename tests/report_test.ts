/**
 * lib/report's building blocks: terminal tables of any length, and the
 * buffered writers that put a million lines on stdout.
 */

import assert from "node:assert/strict";
import { formatTable } from "../lib/report/table.ts";

Deno.test("formatTable() pads every column to its widest cell, colour codes taking no room", () => {
  assert.equal(
    formatTable(["kata", "passes"], [["1", "3"], ["\x1b[32m22\x1b[0m", "0"]]),
    "kata  passes\n1     3\n\x1b[32m22\x1b[0m    0",
  );
});

Deno.test("formatTable() lays out 200 000 rows (an annotated capture) without running out of stack", () => {
  const rows = Array.from({ length: 200_000 }, (_, i) => [String(i), "x"]);
  const lines = formatTable(["#", "flag"], rows).split("\n");
  assert.equal(lines.length, 200_001);
  assert.equal(lines[0], "#       flag");
  assert.equal(lines.at(-1), "199999  x");
});
