/**
 * The practice session behind `deno task kata:N`: the card, a fresh attempt,
 * a visible countdown, a check on every save (or on Enter), and the record
 * of the attempt when it passes or the learner stops.
 *
 * @module
 */

import { closeProcessGroups } from "../check/process_group.ts";
import type { CheckReport, StretchResult } from "../check/report.ts";
import { formatStage, formatSummary } from "../check/report.ts";
import type { StageResult } from "../check/stage.ts";
import { createAttempt } from "./attempt.ts";
import { formatClock, formatCountdown } from "./clock.ts";
import { lineDiff } from "./diff.ts";
import { appendAttempt, type AttemptRecord } from "./history.ts";
import type { PracticeKata } from "./kata.ts";
import type { LogPaths } from "./logs.ts";
import { askForMistake } from "./mistake_prompt.ts";
import { logMistake, readMistakes } from "./mistakes.ts";
import { watchFile } from "./watch.ts";

/** What a practice session needs. */
export interface PracticeOptions {
  kata: PracticeKata;
  /** The card's text (the kata's KATA.md). */
  card: string;
  /** The kata's starter file, copied into each fresh attempt. */
  starter: string | URL;
  /** The reference solution: after a pass, the attempt is shown against it. */
  reference?: string | URL;
  logs: LogPaths;
  /** The attempt to continue (`--continue`), from the history: its file and its time so far. */
  resume?: AttemptRecord;
  /** Runs the checker on an attempt file, calling `onResult` per stage. */
  check(
    file: string,
    onResult: (result: StageResult) => void,
  ): Promise<CheckReport>;
  /**
   * A stage run beside the checker's on every check, whose failure fails the
   * check: the type check (`typecheck.ts`). It is first run as the session
   * starts (to warm it up, unseen), and disposed of when the session ends.
   */
  alongside?: AlongsideStage;
  /** How the learner checks by hand, shown when there is no terminal. */
  checkCommand(file: string): string;
  /** How the learner continues a stopped attempt, shown when they stop. */
  continueCommand?: string;
  /**
   * Registers `cleanup` to run when the kit itself is sent SIGINT or SIGTERM
   * (an editor or a wrapper stopping it), before it exits; returns a function
   * that unregisters it. Without it, such a signal ends the kit at once.
   */
  onInterrupt?(cleanup: () => Promise<void>): () => void;
}

/** A stage run beside the checker's: see {@linkcode PracticeOptions.alongside}. */
export interface AlongsideStage extends AsyncDisposable {
  run(file: string): Promise<StageResult>;
}

/** How a session ended. */
type Ending = "pass" | "stopped" | "interrupted";

const encoder = new TextEncoder();
const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text));

/** Prints the card and the learner's last three mistakes for this kata. */
export async function printCard(
  options: Pick<PracticeOptions, "kata" | "card" | "logs">,
): Promise<void> {
  console.log(options.card.trimEnd());
  const mistakes = (await readMistakes(options.logs.mistakes(options.kata)))
    .slice(-3);
  if (mistakes.length > 0) {
    console.log("\n## Watch out for (your own last mistakes)");
    for (const mistake of mistakes) console.log(`- ${mistake}`);
  }
  console.log();
}

/**
 * Runs a practice session and returns the exit status: 0, or 130 when the
 * learner pressed Ctrl-C. Without a terminal it prints the card and how to
 * check, and returns at once: nothing waits for keys that cannot come.
 * However the session ends, the attempt's server (or client) is not left
 * running.
 */
export async function practice(options: PracticeOptions): Promise<number> {
  await printCard(options);
  if (!Deno.stdin.isTerminal() || !Deno.stdout.isTerminal()) {
    console.log("No terminal here, so no timed session. To check an attempt:");
    console.log(`  ${options.checkCommand("path/to/your-attempt.ts")}`);
    return 0;
  }
  const file = options.resume?.file
    ? `${options.logs.root}/${options.resume.file}`
    : await createAttempt(options.logs.attempts(options.kata), options.starter);
  return await new Session(options, file).run();
}

/** The diff after a pass is cut here: the rest is for a real diff tool. */
const DIFF_LINES = 80;

/** One interactive session, from the fresh (or continued) attempt to the logged result. */
class Session {
  /** When the attempt began: a continued attempt keeps its first start. */
  readonly #started: number;
  /** When this sitting began, and the time on the clock before it. */
  readonly #sitting = Date.now();
  readonly #before: number;
  readonly #limitMs: number;
  #checking = false;
  #checkAgain = false;
  #lastFailures: string[] = ["never checked"];
  /** The stretch stages at the last check, recorded beside the result. */
  #lastStretch: StretchResult[] = [];
  /** Every stage that failed during the session, in the order first seen: the mistake candidates. */
  readonly #failedOnTheWay = new Set<string>();
  #over = false;
  #ending: Ending | undefined;
  #resolveDone: (ending: Ending) => void = () => {};
  readonly #done = new Promise<Ending>((resolve) => this.#resolveDone = resolve);
  #ticker: ReturnType<typeof setInterval> | undefined;
  #leaving: Promise<void> | undefined;

  constructor(readonly options: PracticeOptions, readonly file: string) {
    this.#limitMs = options.kata.timeLimitMinutes * 60_000;
    this.#started = options.resume ? Date.parse(options.resume.started) : this.#sitting;
    this.#before = options.resume?.durationMs ?? 0;
    for (const stage of options.resume?.failedStages ?? []) this.#failedOnTheWay.add(stage);
    if (options.resume) this.#lastFailures = options.resume.failedStages;
    if (options.resume) this.#lastStretch = options.resume.stretch ?? [];
  }

  /** Runs the session to its end; returns the exit status (130 for Ctrl-C). */
  async run(): Promise<number> {
    console.log(
      this.options.resume
        ? `Continuing your attempt: ${this.file}, ${formatClock(this.#before)} in.`
        : `Your fresh attempt: ${this.file}`,
    );
    console.log("Open it in your editor. Every save runs the checker.");
    const watch = watchFile(this.file, () => this.#check());
    if (!watch) {
      console.log("(This system cannot watch files: press Enter to check.)");
    }
    console.log("Keys: Enter = check now · q = stop\n");

    Deno.stdin.setRaw(true);
    // A signal to the kit alone (not a key) ends the session the same way,
    // before the kit exits: the terminal is given back, nothing is lost.
    const forget = this.options.onInterrupt?.(async () => {
      await this.#leave("interrupted");
      Deno.stdin.setRaw(false);
    });
    this.#ticker = setInterval(() => this.#drawStatus(), 1_000);
    this.#drawStatus();
    this.options.alongside?.run(this.file).catch(() => {}); // warm-up: the learner sees the result on a save
    const keys = this.#readKeys();
    try {
      const ending = await this.#done;
      await this.#leave(ending);
      if (ending === "pass") {
        await this.#showDiff();
        await this.#logMistake(keys);
      }
      return ending === "interrupted" ? 130 : 0;
    } finally {
      forget?.();
      clearInterval(this.#ticker);
      watch?.close();
      Deno.stdin.setRaw(false);
    }
  }

  #finished(ending: Ending): void {
    if (this.#over) return;
    this.#over = true;
    this.#ending = ending;
    this.#resolveDone(ending);
  }

  /**
   * Ends the session, once however many ways ask: stops every process a
   * check started (a check may be running: its server must not outlive the
   * session), then records the attempt as it ended first (a pass stays a
   * pass if a signal comes after it).
   */
  #leave(ending: Ending): Promise<void> {
    this.#leaving ??= (async () => {
      this.#finished(ending);
      clearInterval(this.#ticker);
      await closeProcessGroups();
      await this.options.alongside?.[Symbol.asyncDispose]();
      this.#clearStatus();
      await this.#record(this.#ending === "pass" ? "pass" : "stopped");
    })();
    return this.#leaving;
  }

  #elapsed(): number {
    return this.#before + Date.now() - this.#sitting;
  }

  #drawStatus() {
    const state = this.#checking ? "checking…" : "save to check · Enter: check now · q: stop";
    write(
      `\r\x1b[2K⏱  ${formatCountdown(this.#elapsed(), this.#limitMs)} · ${state}`,
    );
  }

  #clearStatus() {
    write("\r\x1b[2K");
  }

  #printStage = (result: StageResult) => {
    if (this.#over) return; // the learner left while it ran
    this.#clearStatus();
    console.log(formatStage(result));
  };

  /**
   * The checker's stages and the stage run beside them (the type check),
   * each printed as soon as it is known; one report of both.
   */
  async #grade(): Promise<CheckReport> {
    const alongside = this.options.alongside?.run(this.file).then((result) => {
      if (result.status === "fail") this.#printStage(result);
      return result;
    });
    alongside?.catch(() => {}); // awaited below; not unhandled if the check throws first
    const report = await this.options.check(this.file, this.#printStage);
    const extra = await alongside;
    if (!extra || extra.status !== "fail") return report;
    return { ...report, passed: false, core: "failed", stages: [extra, ...report.stages] };
  }

  /** Runs the checker; a save during a check queues exactly one more run. */
  async #check(): Promise<void> {
    if (this.#checking) {
      this.#checkAgain = true;
      return;
    }
    this.#checking = true;
    this.#clearStatus();
    console.log(`── check at ${formatClock(this.#elapsed())} ──`);
    try {
      const report = await this.#grade();
      if (this.#over) return;
      console.log(formatSummary(report) + "\n");
      this.#lastFailures = report.stages.filter((s) => s.status === "fail").map((s) => s.name);
      this.#lastStretch = report.stretch;
      for (const stage of this.#lastFailures) this.#failedOnTheWay.add(stage);
      if (report.passed) {
        this.#checkAgain = false;
        return this.#finished("pass");
      }
    } catch (error) {
      if (this.#over) return; // stopped under it by the learner leaving
      // The attempt could not even start (a syntax error, a wrong port):
      // that is a normal state of a work in progress, not a crash.
      console.log(`${error instanceof Error ? error.message : error}\n`);
      this.#lastFailures = ["did not start"];
    } finally {
      this.#checking = false;
    }
    if (this.#over) return;
    if (this.#checkAgain) {
      this.#checkAgain = false;
      await this.#check();
    } else {
      this.#drawStatus();
    }
  }

  /** Reads keys in raw mode until the session ends; returns the key iterator for the final prompt. */
  #readKeys(): AsyncIterator<number> {
    const iterator = this.#keys();
    (async () => {
      while (true) {
        const { value: key, done } = await this.#nextKey(iterator);
        // Once the session is over, keys belong to the final prompt.
        if (this.#over) return;
        if (done) return this.#finished("stopped");
        if (key === 0x0d || key === 0x0a) this.#check();
        else if (key === 0x03) {
          // Ctrl-C (raw mode turns it into a key): stop, and exit 130 as an interrupted program does.
          return this.#finished("interrupted");
        } else if (key === 0x71 || key === 0x51 || key === 0x04) {
          // q, Q, Ctrl-D: stop here; the attempt is kept and recorded.
          return this.#finished("stopped");
        }
      }
    })();
    return iterator;
  }

  #pendingKey: Promise<IteratorResult<number>> | undefined;

  /** The key reader and the final prompt share one iterator; never two reads at once. */
  #nextKey(iterator: AsyncIterator<number>): Promise<IteratorResult<number>> {
    if (!this.#pendingKey) {
      this.#pendingKey = iterator.next().finally(() => this.#pendingKey = undefined);
    }
    return this.#pendingKey;
  }

  async *#keys(): AsyncGenerator<number> {
    const buffer = new Uint8Array(64);
    while (true) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) return;
      yield* buffer.subarray(0, n);
    }
  }

  async #record(result: "pass" | "stopped"): Promise<void> {
    const durationMs = this.#elapsed();
    await appendAttempt(this.options.logs.history, {
      kata: this.options.kata.number,
      started: new Date(this.#started).toISOString(),
      ended: new Date().toISOString(),
      durationMs,
      result,
      failedStages: result === "pass" ? [] : this.#lastFailures,
      file: this.file.slice(this.options.logs.root.length + 1),
      ...(this.options.kata.track ? { track: this.options.kata.track } : {}),
      ...(this.#lastStretch.length > 0 ? { stretch: this.#lastStretch } : {}),
    });
    const within = durationMs <= this.#limitMs ? "within" : "over";
    const again = this.options.continueCommand ? `; continue it with ${this.options.continueCommand}` : "";
    console.log(
      result === "pass"
        ? `Passed in ${
          formatClock(durationMs)
        }, ${within} the ${this.options.kata.timeLimitMinutes}-minute limit. Recorded.`
        : `Stopped after ${
          formatClock(durationMs)
        }. Recorded as stopped (not failed)${again}. Your attempt stays in ${this.file}.`,
    );
  }

  /** After a pass: what the reference does differently, while the attempt is fresh in mind. */
  async #showDiff(): Promise<void> {
    if (!this.options.reference) return;
    const diff = lineDiff(await Deno.readTextFile(this.file), await Deno.readTextFile(this.options.reference));
    if (diff.length === 0) {
      console.log("\nYour attempt matches the reference line for line.\n");
      return;
    }
    console.log("\nYour attempt against the reference (- yours, + the reference's):");
    for (const line of diff.slice(0, DIFF_LINES)) console.log(line);
    if (diff.length > DIFF_LINES) console.log(`… ${diff.length - DIFF_LINES} more lines.`);
    console.log();
  }

  async #logMistake(keys: AsyncIterator<number>): Promise<void> {
    const candidates = [...this.#failedOnTheWay].filter((stage) => stage !== "never checked")
      .map((stage) => stage === "did not start" ? "the attempt did not start" : `${stage} failed`);
    const mistake = await askForMistake(() => this.#nextKey(keys), candidates);
    if (mistake === undefined) return;
    await logMistake(this.options.logs, this.options.kata, mistake);
  }
}
