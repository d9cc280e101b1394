/**
 * What every kata command shares: the flags, the small helpers for usage
 * errors, ports and Ctrl-C, and printing a check as it runs.
 *
 * @module
 */

import { closeProcessGroups } from "../check/process_group.ts";
import { type CheckReport, formatHeading, formatStage, formatSummary, reportToJson } from "../check/report.ts";
import { runCheck, type Subject } from "../check/run.ts";
import type { Stage } from "../check/stage.ts";
import { TargetError } from "../check/target.ts";
import { UsageError } from "../cli/errors.ts";
import { repoPath } from "../cli/paths.ts";
import { LabUnavailable } from "../lab/lab.ts";
import { latestPerAttempt, readAttempts } from "../practice/history.ts";
import type { PracticeKata } from "../practice/kata.ts";
import type { LogPaths } from "../practice/logs.ts";
import { practice } from "../practice/session.ts";
import { TypeChecker } from "../practice/typecheck.ts";
import { interrupted, onInterrupt, ToolError } from "../tools/runner.ts";
import type { KataCommand } from "./kind.ts";

/** Every flag `deno task kata:N` takes; each kind of kata reads its own. */
export interface KataFlags {
  reference?: boolean;
  "reference-c"?: boolean;
  file?: string;
  cmd?: string;
  port?: string;
  host?: string;
  /** The track of a server kata: "deno" (the default) or "syscalls". */
  track?: string;
  json?: boolean;
  loss?: string;
  repeats?: string;
  seconds?: string;
  "udp-rate"?: string;
  cc?: string;
  server?: string;
  tool?: string;
  delay?: string;
  rate?: string;
  link?: string;
  jitter?: string;
  burst?: string;
  /** practice: continue the last stopped attempt instead of starting a fresh one. */
  continue?: boolean;
}

/** Refuses positional arguments a command does not take. */
export function expectNoMore(rest: string[], command: string) {
  if (rest.length > 0) {
    throw new UsageError(`Unexpected argument after ${command}: ${rest[0]}`);
  }
}

/** A port from the command line, 1 to 65535, or a usage error. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) {
    throw new UsageError(
      `--port takes a number from 1 to 65535, not "${text}"`,
    );
  }
  return port;
}

/** Says why a check could not even start: one sentence, or a JSON report saying so. */
export function reportCannotStart(kata: Pick<PracticeKata, "number">, message: string, json: boolean): void {
  if (json) console.log(JSON.stringify({ kata: kata.number, passed: false, error: message }, null, 2));
  else console.error(message);
}

/**
 * Starts a server on `hostname:port`; when it cannot listen there (the port
 * is taken or privileged, the address is not this machine's, the name does
 * not resolve), says so in one sentence and returns undefined (the caller
 * exits 1).
 */
export async function listenOrExplain<T>(
  { hostname, port }: { hostname: string; port: number },
  start: () => T | Promise<T>,
): Promise<T | undefined> {
  try {
    return await start();
  } catch (error) {
    const why = whyCannotListen(error, port);
    if (why === undefined) throw error;
    console.error(
      error instanceof Deno.errors.AddrInUse ? why : `Cannot listen on ${hostname}:${port}: ${why}`,
    );
    return undefined;
  }
}

/** The reason, in words, for the listen errors a learner's flags can cause; undefined for any other error. */
function whyCannotListen(error: unknown, port: number): string | undefined {
  if (error instanceof Deno.errors.AddrInUse) {
    return `Port ${port} is already in use: stop whatever listens there, or pass --port`;
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return "no interface of this machine has that address (try --host 127.0.0.1)";
  }
  if (error instanceof Deno.errors.PermissionDenied && port < 1024) {
    return "ports below 1024 need root here (try a port from 1024 up, e.g. --port 9000)";
  }
  // Deno reports a failed name lookup as a plain Error, told apart by its words.
  if (error instanceof Error && error.message.startsWith("failed to lookup address information")) {
    return "the name does not resolve to an address (try --host 127.0.0.1)";
  }
  return undefined;
}

/** Resolves on Ctrl-C: how `run` commands wait before shutting down. */
export function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => Deno.addSignalListener("SIGINT", resolve));
}

/**
 * Whether `error` means the subject could not even be started or made (the
 * target did not listen, a tool or the lab is missing): reported in one
 * sentence, exit status 1. Not so once Ctrl-C is under way: that exits 130.
 */
export function cannotStart(error: unknown): error is Error {
  return (error instanceof TargetError || error instanceof ToolError || error instanceof LabUnavailable) &&
    !interrupted();
}

/** What {@linkcode printCheck} adds to the plain report. */
export interface CheckExtras {
  /** For people: printed after the stages, before the summary. */
  text?: string;
  /** For programs: fields added to the JSON report. */
  json?: Record<string, unknown>;
}

/**
 * Runs `kata`'s stages against the subject `start` makes, through the one
 * runner, and prints it: the heading and each stage as it finishes, then the
 * summary; or, with `json`, one JSON document. A subject that cannot start
 * is one sentence. Returns the exit status: 0 when every stage passed.
 *
 * @example
 * ```ts ignore
 * import { printCheck } from "./common.ts";
 * import { serverSubject } from "../check/run.ts";
 * const status = await printCheck(kata, () => serverSubject({ kind: "command", command: "./echo {port}" }), { json: false });
 * ```
 */
export async function printCheck<C>(
  kata: PracticeKata & { loadStages(): Promise<readonly Stage<C>[]> },
  start: () => Promise<Subject<C>>,
  options: { json: boolean; extras?: () => CheckExtras; onPass?: (report: CheckReport) => Promise<void> },
): Promise<number> {
  const { json } = options;
  // SIGINT or SIGTERM to the kit alone must not leave the program under test running.
  const forget = onInterrupt(closeProcessGroups);
  let report;
  try {
    report = await runCheck({ ...kata, stages: await kata.loadStages() }, await start(), {
      onStart: (label) => json || console.log(formatHeading(kata.number, kata.title, label)),
      onResult: (result) => json || console.log(formatStage(result)),
    });
  } catch (error) {
    if (!cannotStart(error)) throw error;
    reportCannotStart(kata, error.message, json);
    return 1;
  } finally {
    forget();
  }
  const extras = options.extras?.() ?? {};
  if (json) {
    console.log(reportToJson(report, extras.json));
  } else {
    if (extras.text) console.log(extras.text);
    console.log(formatSummary(report));
  }
  if (report.passed) await options.onPass?.(report);
  return report.passed ? 0 : 1;
}

/**
 * The one target flag given among `allowed`, or a usage error that says
 * what to give (`say`), or that only one may be given.
 */
export function chooseTarget<F extends keyof KataFlags>(
  flags: KataFlags,
  allowed: readonly F[],
  say: string,
): F {
  const given = allowed.filter((flag) => flags[flag] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0
        ? `Say what to check: ${say}`
        : `Give exactly one target, not ${given.map((flag) => `--${flag}`).join(" and ")}`,
    );
  }
  return given[0];
}

/**
 * The practice loop of a kata whose attempt is code (a server, a client):
 * a fresh copy of the kata's `starter.ts` (or, with `--continue`, the last
 * stopped attempt), type-checked and graded on every save through the
 * subject `subjectOf` makes of the attempt file, and shown against the
 * kata's `reference.ts` after a pass.
 */
export async function practiseCode<C>(
  kata: PracticeKata & { directory: URL; loadStages(): Promise<readonly Stage<C>[]> },
  { rest, card, logs, flags }: KataCommand,
  subjectOf: (file: string) => Promise<Subject<C>>,
  track?: { name: string; starter: string; reference: string },
): Promise<number> {
  expectNoMore(rest, "practice");
  // A track's attempts are kept, counted and recorded apart from the default track's.
  const trackKata = track ? { ...kata, track: track.name } : kata;
  return await practice({
    kata: trackKata,
    card,
    logs,
    starter: new URL(track?.starter ?? "starter.ts", kata.directory),
    reference: new URL(track?.reference ?? "reference.ts", kata.directory),
    resume: flags.continue ? await attemptToContinue(trackKata, logs) : undefined,
    check: async (file, onResult) =>
      await runCheck({ ...kata, stages: await kata.loadStages() }, await subjectOf(file), { onResult }),
    alongside: new TypeChecker(),
    checkCommand: (file) =>
      `deno task kata:${kata.number} check ${track ? `--track ${track.name} ` : ""}--file ${file}`,
    continueCommand: `deno task kata:${kata.number}${track ? ` --track ${track.name}` : ""} --continue${
      logs.root === repoPath("logs") ? "" : ` --logs ${logs.root}`
    }`,
    onInterrupt,
  });
}

/** The last attempt at `kata` if it can be continued: stopped, with its file still there; else a usage error. */
async function attemptToContinue(kata: PracticeKata, logs: LogPaths) {
  const last = latestPerAttempt((await readAttempts(logs.history)).attempts)
    .filter((attempt) => attempt.kata === kata.number && attempt.track === kata.track && attempt.file !== undefined)
    .at(-1);
  const fresh = `start a fresh one with deno task kata:${kata.number}`;
  if (!last) throw new UsageError(`There is no attempt at Kata ${kata.number} in ${logs.root} to continue: ${fresh}`);
  if (last.result === "pass") throw new UsageError(`Your last attempt at Kata ${kata.number} passed: ${fresh}`);
  try {
    await Deno.stat(`${logs.root}/${last.file}`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new UsageError(`Your last attempt at Kata ${kata.number} is gone from ${logs.root}/${last.file}: ${fresh}`);
  }
  return last;
}
