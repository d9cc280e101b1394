/**
 * `deno task bench check` — how long a learner waits between saving a
 * passing attempt and seeing its verdict, per kata: the practice loop's own
 * path (the watch's debounce, then the type check beside the kata's stages,
 * on a fresh `--file` subject), timed on the reference saved as an attempt.
 * Each run saves different bytes (a comment with the run's number), so no
 * cached type check hides the real cost of a new save.
 *
 * @module
 */

import type { Subject } from "../check/run.ts";
import { runCheck } from "../check/run.ts";
import type { Stage, StageResult } from "../check/stage.ts";
import { TypeChecker } from "../practice/typecheck.ts";
import { SAVE_DEBOUNCE_MS } from "../practice/watch.ts";
import { formatTable } from "../report/table.ts";
import { spread } from "./rounds.ts";

/** A kata as the benchmark needs it: its stages, its reference, and how practice grades a file. */
export interface LatencyKata<C> {
  number: number;
  title: string;
  directory: URL;
  loadStages(): Promise<readonly Stage<C>[]>;
  /** The subject practice makes of an attempt file (a `--file` server or client). */
  subjectOf(file: string): Promise<Subject<C>>;
}

/** Options for {@linkcode measureCheckLatency}. */
export interface CheckLatencyOptions {
  /** Timed runs per kata; the median is reported. @default 3 */
  runs?: number;
  /** Stages left out, by name (Kata 2's C10K stage is not part of the loop's target). @default /10 000 idle connections|c10k/i */
  exclude?: RegExp;
  /**
   * How to type-check beside the stages: as practice does (a warm language
   * server), with `deno check` on every save, or not at all (what the stages
   * alone cost). @default "language server"
   */
  typeCheck?: "language server" | "deno check" | "none";
}

/** One kata's numbers, medians over the runs, in milliseconds. */
export interface CheckLatency {
  kata: number;
  title: string;
  /** Save to verdict: the debounce, then the slower of the stages and the type check. */
  verdictMs: number;
  stagesMs: number;
  typeCheckMs: number;
  /** Each stage's median time, slowest first. */
  slowest: { name: string; ms: number }[];
  passed: boolean;
}

const median = (values: number[]) => spread(values)?.median ?? NaN;

/**
 * Times the practice loop's check of each kata's reference, saved as a
 * fresh attempt in a temporary folder (removed afterwards).
 *
 * @example
 * ```ts ignore
 * import { formatCheckLatency, measureCheckLatency } from "./check_latency.ts";
 * console.log(formatCheckLatency(await measureCheckLatency(katas, { runs: 5 })));
 * ```
 */
export async function measureCheckLatency(
  katas: readonly LatencyKata<unknown>[],
  options: CheckLatencyOptions = {},
): Promise<CheckLatency[]> {
  const runs = options.runs ?? 3;
  const exclude = options.exclude ?? /10 000 idle connections|c10k/i;
  const results: CheckLatency[] = [];
  const dir = await Deno.makeTempDir({ prefix: "netkata-bench-check-" });
  try {
    for (const kata of katas) {
      const reference = await Deno.readTextFile(new URL("reference.ts", kata.directory));
      const stages = (await kata.loadStages()).filter((stage) => !exclude.test(stage.name));
      const samples: Sample[] = [];
      // One attempt file and one type checker, as in a session, warmed up on the starter first.
      const file = `${dir}/kata-${kata.number}-attempt.ts`;
      await Deno.copyFile(new URL("starter.ts", kata.directory), file);
      const mode = options.typeCheck ?? "language server";
      await using checker = mode === "none"
        ? undefined
        : new TypeChecker({ languageServer: mode === "language server" });
      await checker?.run(file);
      for (let run = 0; run < runs; run++) {
        await Deno.writeTextFile(file, `${reference}\n// bench run ${run} ${Date.now()}\n`);
        samples.push(await timeOneCheck(kata, stages, file, checker));
      }
      results.push(summarise(kata, samples));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return results;
}

interface Sample {
  stagesMs: number;
  typeCheckMs: number;
  stages: StageResult[];
  passed: boolean;
}

/** One save's check, as the session runs it: the type check beside the stages. */
async function timeOneCheck(
  kata: LatencyKata<unknown>,
  stages: readonly Stage<unknown>[],
  file: string,
  checker: TypeChecker | undefined,
) {
  const started = performance.now();
  const typed = checker
    ? checker.run(file).then((result) => ({ result, ms: performance.now() - started }))
    : Promise.resolve({ result: { status: "pass" }, ms: 0 });
  const report = await runCheck({ ...kata, stages }, await kata.subjectOf(file));
  const stagesMs = performance.now() - started;
  const { result, ms } = await typed;
  return {
    stagesMs,
    typeCheckMs: ms,
    stages: report.stages,
    passed: report.passed && result.status === "pass",
  } satisfies Sample;
}

function summarise(kata: LatencyKata<unknown>, samples: Sample[]): CheckLatency {
  const names = samples[0].stages.map((stage) => stage.name);
  const slowest = names.map((name) => ({
    name,
    ms: median(samples.map((s) => s.stages.find((stage) => stage.name === name)?.durationMs ?? 0)),
  })).toSorted((a, b) => b.ms - a.ms);
  return {
    kata: kata.number,
    title: kata.title,
    verdictMs: SAVE_DEBOUNCE_MS + median(samples.map((s) => Math.max(s.stagesMs, s.typeCheckMs))),
    stagesMs: median(samples.map((s) => s.stagesMs)),
    typeCheckMs: median(samples.map((s) => s.typeCheckMs)),
    slowest: slowest.slice(0, 3),
    passed: samples.every((s) => s.passed),
  };
}

/** The results as a table, with the three slowest stages of each kata. */
export function formatCheckLatency(results: readonly CheckLatency[]): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return formatTable(
    ["kata", "save → verdict", "stages", "type check", "slowest stages", "passed"],
    results.map((r) => [
      String(r.kata),
      s(r.verdictMs),
      s(r.stagesMs),
      s(r.typeCheckMs),
      r.slowest.map((stage) => `${stage.name} ${s(stage.ms)}`).join("; "),
      r.passed ? "yes" : "NO",
    ]),
  ) + `\n\nsave → verdict = the ${SAVE_DEBOUNCE_MS} ms save debounce + the slower of the stages and the type check.`;
}
