/**
 * Stages: the unit a checker is made of. A stage probes a running target,
 * passes or throws a {@linkcode StageFailure} that says what was sent, what
 * came back and which classic mistake causes that.
 *
 * @module
 */

/** A failure with a diagnosis: the message says what went wrong, `details`
 * show the bytes, `hint` names the mistake that usually causes it. */
export class StageFailure extends Error {
  /** Multi-line evidence: bytes sent and received, timings. */
  readonly details?: string;
  /** What the learner should look at in their code. */
  readonly hint?: string;

  constructor(
    message: string,
    options: { details?: string; hint?: string } = {},
  ) {
    super(message);
    this.name = "StageFailure";
    this.details = options.details;
    this.hint = options.hint;
  }
}

/**
 * Thrown by a stage that cannot run here (a tool is missing, a permission
 * is not granted): reported as skipped, with the reason, and not a failure.
 */
export class StageSkipped extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "StageSkipped";
  }
}

/**
 * What a server stage gets to work with. Connections opened through
 * {@linkcode StageContext.connect} are closed when the stage ends, whether it
 * passed, failed or timed out, so a stage never leaks a socket.
 */
export interface StageContext {
  /** Address of the implementation under test. */
  readonly hostname: string;
  readonly port: number;
  /** The process it runs in, when the checker knows it: to read its CPU time. */
  readonly pid?: number;
  /** Opens a TCP connection to the target; closed when the stage ends. */
  connect(): Promise<Deno.TcpConn>;
  /** Aborted when the stage times out. */
  readonly signal: AbortSignal;
}

/** A fresh context for one stage, and how to clean up after it. */
export interface ContextLease<C> {
  context: C;
  /** Called when the stage ends, whatever the outcome. */
  release(): void;
}

/** Makes contexts for stages that talk to a server at `hostname:port`. */
export function serverContexts(
  hostname: string,
  port: number,
  pid?: number,
): (signal: AbortSignal) => ContextLease<StageContext> {
  return (signal) => {
    const connections = new Set<Deno.TcpConn>();
    return {
      context: {
        hostname,
        port,
        pid,
        signal,
        async connect() {
          const conn = await Deno.connect({ hostname, port });
          connections.add(conn);
          return conn;
        },
      },
      release() {
        // Closing the stage's sockets also rejects any read still pending in
        // a stage that timed out, so nothing keeps running behind our back.
        for (const conn of connections) {
          try {
            conn.close();
          } catch {
            // Already closed by the stage itself.
          }
        }
      },
    };
  };
}

/**
 * Whether a stage belongs to the kata's standard (the seed's "repeat until",
 * what completion counts) or goes beyond it (RFC-grade errors, C10K,
 * slowloris): shown apart, never needed to pass.
 */
export type StageLevel = "core" | "stretch";

/** One step of a checker; `C` is what it works with (a server's address, a client to run). */
export interface Stage<C = StageContext> {
  /** What the stage proves, as a learner reads it: "echoes 1 MiB byte-exact". */
  readonly name: string;
  /** Core (the kata's standard) or stretch (beyond it). @default {"core"} */
  readonly level?: StageLevel;
  /** Upper bound for the whole stage. @default {20000} */
  readonly timeoutMs?: number;
  /** What to suspect when the stage runs into its time limit. */
  readonly timeoutHint?: string;
  /** Throws {@linkcode StageFailure} on failure; may return a short note ("median 0.2 ms"). */
  run(context: C): Promise<string | void>;
}

/** The outcome of one stage. */
export interface StageResult {
  name: string;
  level: StageLevel;
  status: "pass" | "fail" | "skip";
  durationMs: number;
  /** Pass: an optional note. Fail: what went wrong. */
  message?: string;
  details?: string;
  hint?: string;
}

/** Options for {@linkcode runStages}. */
export interface RunStagesOptions {
  /** Called as each stage finishes, so a report can be printed live. */
  onResult?: (result: StageResult) => void;
  /** Explains a failure further, e.g. "the server process exited with status 1". */
  diagnose?: () => Promise<string | undefined>;
  /**
   * How many stages may run at once. More than one only where each lease is
   * independent of every other (a client's stages, each with a fixture
   * server of its own); the report is the same as one at a time. @default {1}
   */
  concurrency?: number;
}

const DEFAULT_TIMEOUT_MS = 20_000;

/** What a stage stopped behind an earlier failure ends with. */
const STOPPED = Symbol("stopped");

/**
 * Runs the core stages in order, then the stretch stages in order, each
 * with a fresh context from `contexts`. The first core failure stops the
 * run: every later stage, stretch ones too, is reported as skipped, because
 * its result would only repeat the first problem. A stretch stage stands
 * alone: its failure skips nothing. Stretch stages come last because they
 * are the slow ones (10 000 connections) and the verdict on the core should
 * not wait for them.
 *
 * With `concurrency` above one, up to that many stages run side by side,
 * started in order; results are still reported in order, each as soon as it
 * and every stage before it are done, so a core failure is reported at once
 * and the stages already running behind it are stopped and reported as
 * skipped. Stretch stages start only once every core stage has passed.
 *
 * @example
 * ```ts ignore
 * import { runStages, serverContexts } from "./stage.ts";
 * const results = await runStages(stages, serverContexts("127.0.0.1", 9000));
 * ```
 */
export async function runStages<C>(
  stages: readonly Stage<C>[],
  contexts: (signal: AbortSignal) => ContextLease<C>,
  options: RunStagesOptions = {},
): Promise<StageResult[]> {
  const results: StageResult[] = [];
  const report = (result: StageResult) => {
    results.push(result);
    options.onResult?.(result);
  };
  const core = stages.filter((s) => levelOf(s) === "core");
  const stretch = stages.filter((s) => levelOf(s) === "stretch");
  const corePassed = await runInOrder(core, contexts, options, report, { stopAtFailure: true });
  if (corePassed) await runInOrder(stretch, contexts, options, report, { stopAtFailure: false });
  else for (const stage of stretch) report(skipped(stage));
  return results;
}

/** A stage reported as skipped, with no reason of its own: an earlier failure is the reason. */
function skipped(stage: Stage<unknown>): StageResult {
  return { name: stage.name, level: levelOf(stage), status: "skip", durationMs: 0 };
}

/**
 * Runs `stages` of one level, up to `options.concurrency` at once, and
 * reports each result in order. Returns false when it stopped at a failure.
 */
async function runInOrder<C>(
  stages: readonly Stage<C>[],
  contexts: (signal: AbortSignal) => ContextLease<C>,
  options: RunStagesOptions,
  report: (result: StageResult) => void,
  { stopAtFailure }: { stopAtFailure: boolean },
): Promise<boolean> {
  const width = Math.max(1, Math.floor(options.concurrency ?? 1));
  // The earliest stage known to have failed: nothing after it starts, and
  // what runs after it is stopped, since its result would not be shown.
  let firstFailure = stages.length;
  const stops = stages.map(() => new AbortController());
  const running: Promise<Omit<StageResult, "level">>[] = [];
  let next = 0;
  let inFlight = 0;
  const startMore = () => {
    while (inFlight < width && next < Math.min(firstFailure, stages.length)) {
      const index = next++;
      inFlight++;
      running[index] = runStage(stages[index], contexts, options, stops[index].signal)
        .then((result) => {
          if (stopAtFailure && result.status === "fail" && index < firstFailure) {
            firstFailure = index;
            for (const later of stops.slice(index + 1)) later.abort();
          }
          return result;
        })
        .finally(() => {
          inFlight--;
          startMore();
        });
    }
  };
  startMore();
  try {
    for (let i = 0; i < stages.length; i++) {
      // Every stage before it has ended, which freed a place: it has started,
      // unless a failure before it means it never will.
      if (i > firstFailure) {
        report(skipped(stages[i]));
        continue;
      }
      report({ ...await running[i], level: levelOf(stages[i]) });
    }
  } finally {
    for (const stop of stops) stop.abort();
    // Stopped stages end at once (see runStage): their results are in, and
    // their sockets and processes closed, when this returns. A stage's own
    // function may still be finishing its last step; whatever it starts
    // then meets the aborted signal.
    await Promise.allSettled(running);
  }
  return firstFailure === stages.length;
}

/** A stage's level; core unless it says otherwise. */
export function levelOf(stage: Pick<Stage<unknown>, "level">): StageLevel {
  return stage.level ?? "core";
}

async function runStage<C>(
  stage: Stage<C>,
  contexts: (signal: AbortSignal) => ContextLease<C>,
  options: RunStagesOptions,
  stop: AbortSignal,
): Promise<Omit<StageResult, "level">> {
  const controller = new AbortController();
  let lease: ContextLease<C> | undefined;
  const timeoutMs = stage.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new StageFailure(`Did not finish within ${timeoutMs / 1000} s`, {
          hint: stage.timeoutHint,
        }),
      );
    }, timeoutMs);
  });
  // An earlier stage failed while this one ran beside it: its result no
  // longer counts, so it ends now (the finally below stops what it started).
  let onStop: (() => void) | undefined;
  const stopped = new Promise<typeof STOPPED>((resolve) => {
    onStop = () => resolve(STOPPED);
    stop.addEventListener("abort", onStop, { once: true });
  });
  try {
    // Inside the try: making a context can fail too (a fixture with no
    // descriptor to listen on), and that is this stage's result.
    lease = contexts(controller.signal);
    const running = stage.run(lease.context);
    // If the deadline wins, the stage's own promise rejects later (its
    // sockets are closed below); mark that rejection as handled.
    running.catch(() => {});
    const note = await Promise.race([running, timedOut, stopped]);
    if (note === STOPPED) return { name: stage.name, status: "skip", durationMs: performance.now() - started };
    return {
      name: stage.name,
      status: "pass",
      durationMs: performance.now() - started,
      message: note || undefined,
    };
  } catch (error) {
    const durationMs = performance.now() - started;
    if (error instanceof StageSkipped) {
      return {
        name: stage.name,
        status: "skip",
        durationMs,
        message: error.message,
      };
    }
    return failureResult(
      stage.name,
      error,
      durationMs,
      await options.diagnose?.(),
    );
  } finally {
    clearTimeout(timer);
    stop.removeEventListener("abort", onStop!);
    controller.abort();
    lease?.release();
  }
}

function failureResult(
  name: string,
  error: unknown,
  durationMs: number,
  diagnosis: string | undefined,
): Omit<StageResult, "level"> {
  if (error instanceof StageFailure) {
    return {
      name,
      status: "fail",
      durationMs,
      message: diagnosis ? `${error.message}; ${diagnosis}` : error.message,
      details: error.details,
      hint: error.hint,
    };
  }
  if (error instanceof Deno.errors.ConnectionRefused) {
    return {
      name,
      status: "fail",
      durationMs,
      message: diagnosis ?? "Connection refused: nothing is listening any more",
      hint:
        "The server stopped accepting connections. An error in one connection's handler must not end the accept loop or the process.",
    };
  }
  // A reset right after the handshake can make Deno.connect itself fail
  // with NotConnected: Deno asks the kernel for the peer's address, and the
  // peer is already gone. Every one of these is what the server did.
  if (
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionAborted
  ) {
    return {
      name,
      status: "fail",
      durationMs,
      message: `The server reset the connection (${error.message})` +
        (diagnosis ? `; ${diagnosis}` : ""),
      hint: "A reset usually means the server closed the socket with unread data, or its process crashed.",
    };
  }
  // Anything else is a bug in the checker itself, not in the learner's code:
  // say so plainly rather than blame the implementation.
  const message = error instanceof Error ? error.message : String(error);
  return {
    name,
    status: "fail",
    durationMs,
    message: `The checker hit an unexpected error: ${message}`,
    hint: "This is likely a netkata bug; please report it with the command you ran.",
  };
}

/**
 * Races `promise` against a deadline and throws a {@linkcode StageFailure}
 * built by `onTimeout` if the deadline passes first.
 */
export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => StageFailure,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  promise.catch(() => {}); // a rejection after the deadline is expected
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
