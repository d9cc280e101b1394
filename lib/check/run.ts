/**
 * One check run: start the target, run the kata's stages against it, stop
 * the target, return the report.
 *
 * @module
 */

import type { CheckReport } from "./report.ts";
import { runStages, type Stage, type StageResult } from "./stage.ts";
import { startTarget, type TargetSpec } from "./target.ts";

/** What a checker needs to know about the kata it grades. */
export interface CheckedKata {
  number: number;
  title: string;
  stages: readonly Stage[];
}

/** Options for {@linkcode runCheck}. */
export interface RunCheckOptions {
  /** Called once the target is up, before the first stage. */
  onStart?: (targetLabel: string) => void;
  /** Called as each stage finishes. */
  onResult?: (result: StageResult) => void;
}

/**
 * Grades `spec` against `kata`'s stages. Throws `TargetError` when the
 * target cannot be started; every other problem is a failed stage.
 *
 * @example
 * ```ts ignore
 * import { runCheck } from "./run.ts";
 * import { stages } from "../../katas/01-echo-threaded/check.ts";
 * const report = await runCheck(
 *   { number: 1, title: "Concurrent echo server", stages },
 *   { kind: "address", hostname: "127.0.0.1", port: 9000 },
 * );
 * console.log(report.passed);
 * ```
 */
export async function runCheck(
  kata: CheckedKata,
  spec: TargetSpec,
  options: RunCheckOptions = {},
): Promise<CheckReport> {
  await using target = await startTarget(spec);
  options.onStart?.(target.label);
  const stages = await runStages(kata.stages, target.hostname, target.port, {
    onResult: options.onResult,
    diagnose: () => target.diagnose(),
  });
  return {
    kata: kata.number,
    title: kata.title,
    target: target.label,
    passed: stages.every((stage) => stage.status === "pass"),
    stages,
  };
}
