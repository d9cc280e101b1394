/**
 * The one runner. A check is a *subject* — what is graded: a started
 * server, a client and the fixture it runs against, a capture file, a sweep —
 * times the kata's stages, and it ends in one report type whatever the kind
 * of kata.
 *
 * @module
 */

import { type ClientSpec, type ClientUnderTest, clientUnderTest } from "./client.ts";
import { type CheckReport, verdictOf } from "./report.ts";
import {
  type ContextLease,
  runStages,
  serverContexts,
  type Stage,
  type StageContext,
  type StageResult,
} from "./stage.ts";
import { startTarget, type StartTargetOptions, type TargetSpec } from "./target.ts";

/**
 * What is graded, ready to be probed: a fresh context for each stage, and
 * whatever was started to get there, stopped on dispose.
 */
export interface Subject<C> extends AsyncDisposable {
  /** How the report names it: "Deno reference (in-process)", a command, a file. */
  readonly label: string;
  /** A fresh context for one stage; released when the stage ends, however it ends. */
  lease(signal: AbortSignal): ContextLease<C>;
  /** Explains a failure further, e.g. "the server process exited with status 1". */
  diagnose?(): Promise<string | undefined>;
  /**
   * How many stages may run at once: more than one only when leases are
   * independent of each other (see `runStages`). @default {1}
   */
  readonly concurrency?: number;
}

/** What the runner needs to know about the kata it grades. */
export interface CheckedKata<C> {
  number: number;
  title: string;
  stages: readonly Stage<C>[];
}

/** Options for {@linkcode runCheck}. */
export interface RunCheckOptions {
  /** Called once the subject is ready, before the first stage. */
  onStart?: (targetLabel: string) => void;
  /** Called as each stage finishes. */
  onResult?: (result: StageResult) => void;
}

/**
 * Runs `kata`'s stages against `subject` (core stages first, then stretch
 * ones) and disposes the subject at the end, whatever happens. Every problem
 * of the implementation under test is a failed stage, never an exception.
 * The report passes when every core stage did; it lists the stretch stages
 * apart.
 *
 * @example
 * ```ts ignore
 * import { runCheck, serverSubject } from "./run.ts";
 * import { stages } from "../../katas/01-echo-threaded/check.ts";
 * const report = await runCheck(
 *   { number: 1, title: "Concurrent echo server", stages },
 *   await serverSubject({ kind: "address", hostname: "127.0.0.1", port: 9000 }),
 * );
 * console.log(report.passed);
 * ```
 */
export async function runCheck<C>(
  kata: CheckedKata<C>,
  subject: Subject<C>,
  options: RunCheckOptions = {},
): Promise<CheckReport> {
  await using owned = subject;
  options.onStart?.(owned.label);
  const stages = await runStages(kata.stages, (signal) => owned.lease(signal), {
    onResult: options.onResult,
    diagnose: owned.diagnose ? () => owned.diagnose!() : undefined,
    concurrency: owned.concurrency,
  });
  return {
    kata: kata.number,
    title: kata.title,
    target: owned.label,
    ...verdictOf(stages),
    stages,
  };
}

/**
 * A server subject: starts `spec` (in-process, a command, a Deno file, or an
 * address already listening) and hands each stage fresh connections to it.
 * Throws `TargetError` when it cannot start.
 *
 * @example
 * ```ts ignore
 * import { serverSubject } from "./run.ts";
 * await using subject = await serverSubject({ kind: "command", command: "./echo {port}" });
 * ```
 */
export async function serverSubject(
  spec: TargetSpec,
  options: StartTargetOptions = {},
): Promise<Subject<StageContext>> {
  const target = await startTarget(spec, options);
  return {
    label: target.label,
    lease: serverContexts(target.hostname, target.port, target.pid),
    diagnose: () => target.diagnose(),
    [Symbol.asyncDispose]: () => target.close(),
  };
}

/** What a client stage works with: the client, and the fixture server it runs against. */
export interface ClientRun<F> {
  client: ClientUnderTest;
  fixture: F;
}

/**
 * How many client stages run at once: one per core, and one more, because
 * a run also waits (for its process to start, for a fixture that dribbles);
 * at most four, since every run is a process of its own.
 */
const CLIENT_STAGE_CONCURRENCY = Math.min(4, (navigator.hardwareConcurrency || 1) + 1);

/**
 * A client subject: the client described by `spec`, run by each stage
 * against a fixture of its own, which `startFixture` starts for the stage
 * and which is stopped after it. Stages do not share a fixture, so they may
 * run side by side. Throws `TargetError` for a command without `{url}`.
 *
 * @example
 * ```ts ignore
 * import { clientSubject } from "./run.ts";
 * import { startHttpFixture } from "../http/fixture.ts";
 * await using subject = clientSubject({ kind: "command", command: "./client {url}" }, () => startHttpFixture());
 * ```
 */
export function clientSubject<F extends AsyncDisposable>(
  spec: ClientSpec,
  startFixture: () => F,
): Subject<ClientRun<F>> {
  const client = clientUnderTest(spec);
  const stopping = new Set<Promise<void>>();
  return {
    label: client.label,
    concurrency: CLIENT_STAGE_CONCURRENCY,
    lease(signal) {
      const fixture = startFixture();
      // The stage's own view of the client: stopped with the stage.
      const run: ClientUnderTest["run"] = (url, port, timeoutMs, stop = signal) =>
        client.run(url, port, timeoutMs, stop);
      return {
        context: { client: { ...client, run }, fixture },
        release() {
          const stopped = Promise.resolve(fixture[Symbol.asyncDispose]()).finally(() => stopping.delete(stopped));
          stopping.add(stopped);
        },
      };
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(stopping);
      await client[Symbol.asyncDispose]();
    },
  };
}

/**
 * A subject that is already there, the same for every stage: a decoded
 * capture file, a finished sweep. Nothing to stop.
 *
 * @example
 * ```ts ignore
 * import { fixedSubject } from "./run.ts";
 * const subject = fixedSubject("handshake.pcap", { path: "handshake.pcap", file });
 * ```
 */
export function fixedSubject<C>(label: string, context: C): Subject<C> {
  return {
    label,
    lease: () => ({ context, release() {} }),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}
