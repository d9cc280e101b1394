/**
 * Printing a checker's verdict: live PASS/FAIL lines for people, one JSON
 * document for programs.
 *
 * @module
 */

import { Color, paint } from "../report/color.ts";
import type { StageResult } from "./stage.ts";

/** How one stretch stage went, for the verdict's stretch list. */
export interface StretchResult {
  name: string;
  status: StageResult["status"];
}

/** Everything a check run produced. */
export interface CheckReport {
  kata: number;
  title: string;
  target: string;
  /**
   * Every core stage passed (none failed): the kata's standard is met. This
   * is the exit status and what completion counts; stretch stages never
   * change it.
   */
  passed: boolean;
  /** The same verdict in words, beside `stretch`. */
  core: "passed" | "failed";
  /** Each stretch stage and how it went, in the order run; empty for a kata without any. */
  stretch: StretchResult[];
  stages: StageResult[];
}

/**
 * The verdict of `stages`: whether the core passed, and how each stretch
 * stage went.
 *
 * @example
 * ```ts ignore
 * import { verdictOf } from "./report.ts";
 * const { passed, core, stretch } = verdictOf(results);
 * ```
 */
export function verdictOf(stages: readonly StageResult[]): Pick<CheckReport, "passed" | "core" | "stretch"> {
  const passed = !stages.some((stage) => stage.level === "core" && stage.status === "fail");
  return {
    passed,
    core: passed ? "passed" : "failed",
    stretch: stages.filter((stage) => stage.level === "stretch").map(({ name, status }) => ({ name, status })),
  };
}

const LABELS = {
  pass: paint(Color.green, "PASS"),
  fail: paint(Color.red, "FAIL"),
  skip: paint(Color.gray, "SKIP"),
} as const;

/** The heading printed before the first stage. */
export function formatHeading(
  kata: number,
  title: string,
  target: string,
): string {
  return `Kata ${kata} · ${title}\nTarget: ${target}\n`;
}

/**
 * One stage as the learner reads it; a stretch stage says so before its name:
 * ```
 *   FAIL  an idle client does not delay others  (2.0 s)
 *         No echo within 2 s while another client sat idle
 *         hint: …
 *   PASS  stretch · 10 000 idle connections: …  (2.1 s)
 * ```
 */
export function formatStage(result: StageResult): string {
  const time = result.status === "skip" ? "" : `  (${formatDuration(result.durationMs)})`;
  const level = result.level === "stretch" ? "stretch · " : "";
  const lines = [`  ${LABELS[result.status]}  ${level}${result.name}${time}`];
  if (result.message) {
    const message = result.status === "pass" ? paint(Color.gray, result.message) : result.message;
    lines.push(...indentLines(message));
  }
  if (result.details) lines.push(...indentLines(result.details));
  if (result.hint) {
    lines.push(...indentLines(paint(Color.yellow, `hint: ${result.hint}`)));
  }
  return lines.join("\n");
}

/**
 * The closing lines: how many core stages passed (and why any were skipped);
 * then, for a kata with stretch stages, how many of those passed and which
 * did not. The stretch line never turns a pass into a failure.
 */
export function formatSummary(report: CheckReport): string {
  const core = report.stages.filter((s) => s.level !== "stretch");
  const what = core.length === report.stages.length ? "stages" : "core stages";
  const passed = core.filter((s) => s.status === "pass").length;
  const skipped = core.filter((s) => s.status === "skip" && s.message).length;
  const total = core.length;
  if (!report.passed) {
    return paint(
      Color.red,
      `\n${passed} of ${total} ${what} passed. Fix the first failure and check again.`,
    );
  }
  const line = skipped === 0
    ? `\nAll ${total} ${what} passed.`
    : `\n${passed} of ${total} ${what} passed; ${skipped} could not run here (see above).`;
  return paint(Color.green, line) + formatStretch(report.stretch);
}

/** "Stretch: 1 of 2 passed; not yet: C10K" — or nothing for a kata without stretch stages. */
function formatStretch(stretch: readonly StretchResult[]): string {
  if (stretch.length === 0) return "";
  const passed = stretch.filter((s) => s.status === "pass").length;
  const failed = stretch.filter((s) => s.status === "fail").map((s) => s.name);
  const skipped = stretch.filter((s) => s.status === "skip").length;
  const parts = [`Stretch: ${passed} of ${stretch.length} passed`];
  if (failed.length > 0) parts.push(`not yet: ${failed.join("; ")}`);
  if (skipped > 0) parts.push(`${skipped} could not run here`);
  return `\n${parts.join("; ")} (beyond the kata: not needed to pass).`;
}

/**
 * The machine-readable form printed by `--json`; `extra` adds what the kind
 * of kata has beside the stages (a capture's packets, a sweep's data).
 */
export function reportToJson(report: CheckReport, extra: Record<string, unknown> = {}): string {
  return JSON.stringify(
    {
      ...report,
      ...extra,
      stages: report.stages.map((stage) => ({
        ...stage,
        durationMs: Math.round(stage.durationMs * 10) / 10,
      })),
    },
    null,
    2,
  );
}

function formatDuration(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

function indentLines(text: string): string[] {
  return text.split("\n").map((line) => `        ${line}`);
}
