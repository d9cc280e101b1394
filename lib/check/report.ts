/**
 * Printing a checker's verdict: live PASS/FAIL lines for people, one JSON
 * document for programs.
 *
 * @module
 */

import { Color, paint } from "../report/color.ts";
import type { StageResult } from "./stage.ts";

/** Everything a check run produced. */
export interface CheckReport {
  kata: number;
  title: string;
  target: string;
  passed: boolean;
  stages: StageResult[];
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
 * One stage as the learner reads it:
 * ```
 *   FAIL  an idle client does not delay others  (2.0 s)
 *         No echo within 2 s while another client sat idle
 *         hint: …
 * ```
 */
export function formatStage(result: StageResult): string {
  const time = result.status === "skip" ? "" : `  (${formatDuration(result.durationMs)})`;
  const lines = [`  ${LABELS[result.status]}  ${result.name}${time}`];
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

/** The closing line: how many stages passed (and why any were skipped). */
export function formatSummary(report: CheckReport): string {
  const passed = report.stages.filter((s) => s.status === "pass").length;
  const skipped = report.stages.filter((s) => s.status === "skip" && s.message).length;
  const total = report.stages.length;
  if (!report.passed) {
    return paint(
      Color.red,
      `\n${passed} of ${total} stages passed. Fix the first failure and check again.`,
    );
  }
  return skipped === 0 ? paint(Color.green, `\nAll ${total} stages passed.`) : paint(
    Color.green,
    `\n${passed} of ${total} stages passed; ${skipped} could not run here (see above).`,
  );
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
