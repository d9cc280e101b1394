/**
 * A line diff for the terminal: after a pass, the learner's attempt next to
 * the reference, so that they see what the reference does differently
 * while the attempt is fresh in mind.
 *
 * @module
 */

/**
 * The lines that differ between `before` and `after`, with `context` lines
 * around each change: hunks headed `@@ line N @@` (N counts lines of
 * `before`), then `  same`, `- removed`, `+ added`. Empty when equal. A
 * longest-common-subsequence diff: quadratic, fine for files of a few
 * hundred lines.
 *
 * @example
 * ```ts
 * import { lineDiff } from "./diff.ts";
 * lineDiff("a\nb\n", "a\nc\n"); // ["@@ line 1 @@", "  a", "- b", "+ c"]
 * ```
 */
export function lineDiff(before: string, after: string, context = 3): string[] {
  const a = before.replace(/\n$/, "").split("\n");
  const b = after.replace(/\n$/, "").split("\n");
  const edits = editScript(a, b);
  const changed = edits.map((edit, i) => edit.kind !== " " ? i : -1).filter((i) => i >= 0);
  const out: string[] = [];
  let shownUpTo = -1;
  for (const index of changed) {
    const from = Math.max(index - context, shownUpTo + 1);
    if (from > shownUpTo + 1 || shownUpTo === -1) out.push(`@@ line ${edits[from].line} @@`);
    const to = Math.min(index + context, edits.length - 1);
    for (let i = from; i <= to; i++) {
      if (i > shownUpTo) out.push(`${edits[i].kind} ${edits[i].text}`);
    }
    shownUpTo = Math.max(shownUpTo, to);
  }
  return out;
}

interface Edit {
  kind: " " | "-" | "+";
  text: string;
  /** Line number in `before` this edit sits at (1-based). */
  line: number;
}

function editScript(a: string[], b: string[]): Edit[] {
  // common[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const common = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i][j] = a[i] === b[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
    }
  }
  const edits: Edit[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) edits.push({ kind: " ", text: a[i++], line: i }), j++;
    else if (j < b.length && (i === a.length || common[i][j + 1] > common[i + 1][j])) {
      edits.push({ kind: "+", text: b[j++], line: i + 1 });
    } else edits.push({ kind: "-", text: a[i++], line: i });
  }
  return edits;
}
