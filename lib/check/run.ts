/**
 * One check run: start the target, run the kata's stages against it, stop
 * the target, return the report.
 *
 * @module
 */

import { annotateFile } from "../pcap/file.ts";
import type { CaptureContext } from "../stages/capture.ts";
import { type ClientSpec, clientUnderTest } from "./client.ts";
import type { ClientContext } from "../stages/http_client.ts";
import { startHttpFixture } from "../http/fixture.ts";
import type { CheckReport } from "./report.ts";
import { runStages, serverContexts, type Stage, type StageResult } from "./stage.ts";
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
  const stages = await runStages(
    kata.stages,
    serverContexts(target.hostname, target.port),
    {
      onResult: options.onResult,
      diagnose: () => target.diagnose(),
    },
  );
  return {
    kata: kata.number,
    title: kata.title,
    target: target.label,
    passed: !stages.some((stage) => stage.status === "fail"),
    stages,
  };
}

/** What a client checker needs to know about the kata it grades. */
export interface CheckedClientKata {
  number: number;
  title: string;
  stages: readonly Stage<ClientContext>[];
}

/**
 * Grades a client: starts the fixture server, runs the client once per
 * stage against it, stops the fixture.
 */
export async function runClientCheck(
  kata: CheckedClientKata,
  spec: ClientSpec,
  options: RunCheckOptions = {},
): Promise<CheckReport> {
  const client = clientUnderTest(spec);
  await using fixture = startHttpFixture();
  options.onStart?.(client.label);
  const stages = await runStages(
    kata.stages,
    () => ({ context: { client, fixture }, release() {} }),
    {
      onResult: options.onResult,
    },
  );
  return {
    kata: kata.number,
    title: kata.title,
    target: client.label,
    passed: !stages.some((stage) => stage.status === "fail"),
    stages,
  };
}

/** What a capture checker needs to know about the kata it grades. */
export interface CheckedCaptureKata {
  number: number;
  title: string;
  stages: readonly Stage<CaptureContext>[];
}

/** Grades the capture file at `path`. */
export async function runCaptureCheck(
  kata: CheckedCaptureKata,
  path: string,
  options: RunCheckOptions = {},
): Promise<CheckReport> {
  const file = await annotateFile(path);
  options.onStart?.(path);
  const stages = await runStages(
    kata.stages,
    () => ({ context: { path, file }, release() {} }),
    {
      onResult: options.onResult,
    },
  );
  return {
    kata: kata.number,
    title: kata.title,
    target: path,
    passed: !stages.some((stage) => stage.status === "fail"),
    stages,
  };
}
