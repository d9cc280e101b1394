/**
 * The type check of a practice attempt, as a stage: `deno run` does not
 * type-check, so without it an attempt with a type error can pass every
 * stage and teach the learner nothing about the types of Deno's socket
 * API. It is `deno check` with the same module resolution as the run
 * (`RESOLUTION_FLAGS`), so the graph checked is the graph run.
 *
 * It costs about a second (tsc starting up), so the session runs it beside
 * the stages, not before them; and a file checked once is not checked
 * again (editors save unchanged files, a save may touch only the time).
 *
 * @module
 */

import { RESOLUTION_FLAGS } from "../check/sandbox.ts";
import type { StageResult } from "../check/stage.ts";

/** The stage's name, as the report and the mistake log show it. */
export const TYPE_CHECK_STAGE = "type-checks";

/** How long a type check may take: a few seconds even on a busy machine. */
const TIMEOUT_MS = 30_000;

/** Verdicts by the SHA-256 of the file's content. */
const verdicts = new Map<string, Promise<StageResult>>();

/**
 * Type-checks the Deno file at `path`: a passed or failed stage, whose
 * message is the first error and whose details are the rest of what
 * `deno check` said. The verdict is kept by content, for this process.
 *
 * @example
 * ```ts ignore
 * import { typeCheck } from "./typecheck.ts";
 * const result = await typeCheck("logs/01-echo-threaded/attempt-001.ts");
 * if (result.status === "fail") console.log(result.message);
 * ```
 */
export async function typeCheck(path: string): Promise<StageResult> {
  const content = await Deno.readFile(path);
  const hash = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", content)))
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  let verdict = verdicts.get(hash);
  if (!verdict) {
    verdict = runDenoCheck(path);
    verdicts.set(hash, verdict);
  }
  return await verdict;
}

async function runDenoCheck(path: string): Promise<StageResult> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", ...RESOLUTION_FLAGS, path],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).output();
  const durationMs = performance.now() - started;
  if (output.success) return { name: TYPE_CHECK_STAGE, status: "pass", durationMs };
  const said = new TextDecoder().decode(output.stderr).trim(); // plain: NO_COLOR is set
  if (output.signal) {
    return {
      name: TYPE_CHECK_STAGE,
      status: "fail",
      durationMs,
      message: `deno check did not finish within ${TIMEOUT_MS / 1000} s`,
    };
  }
  const lines = said.split("\n").filter((line) =>
    !/^(error: Type checking failed|Stack backtrace|\s+\d+: )/.test(line)
  );
  const first = lines.findIndex((line) => /^TS\d+|error/i.test(line));
  return {
    name: TYPE_CHECK_STAGE,
    status: "fail",
    durationMs,
    message: (lines[first] ?? `deno check exited with status ${output.code}`).replace(" [ERROR]", ""),
    details: lines.slice(first + 1).join("\n").trim().split("\n").slice(0, 12).join("\n") || undefined,
    hint: "deno run does not type-check, but the kata does: fix the types, as your editor shows them",
  };
}
