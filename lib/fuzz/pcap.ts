/**
 * Fuzzing the capture reader: seeded runs of mutated real captures through
 * lib/pcap (reader, annotator, every output format), checking on each the
 * properties listed in pcap_properties.ts. `deno task fuzz pcap` runs the
 * long version; the suite runs a short one.
 *
 * The cases run in a worker, watched from here: a case that does not finish
 * within its deadline is a hang, the worker is replaced and the run goes on
 * with the next case. A reader stuck in a loop cannot stop the run.
 *
 * @module
 */

import type { FuzzSummary } from "./summary.ts";
import { describePcapCase, pcapFuzzCase } from "./pcap_cases.ts";
import type { PcapWorkerMessage, PcapWorkerStart } from "./pcap_worker.ts";

/** Options of {@linkcode fuzzPcap}. */
export interface PcapFuzzOptions {
  /** How many mutated captures to read. */
  count: number;
  /** The seed, a whole number from 0 to 2^32 − 1: the same seed reads the same captures. */
  seed: number;
  /** Called with the number of cases done, about a hundred times per run and once at the end. */
  onProgress?: (done: number) => void;
  /**
   * How long one case may take before it counts as a hang. A case takes
   * well under a millisecond; the margin is for a loaded machine.
   * @default {5000}
   */
  caseTimeoutMs?: number;
  /**
   * URL of the reader module to fuzz, exporting what lib/pcap/reader.ts does
   * (the fuzzer's own tests give it broken readers).
   * @default {lib/pcap/reader.ts}
   */
  readerModule?: string;
}

/** Longest a worker may take to load its modules before the run gives up. */
const WORKER_START_MS = 60_000;
/** Failures kept in the summary (FuzzSummary's contract). */
const MAX_FAILURES = 20;

/**
 * Reads `count` mutated captures made from `seed` and reports crashes,
 * hangs, broken properties, and the process's resident set size before the
 * first case and after the last. Needs read access to the project's files
 * (its worker loads the modules and the fixture captures).
 *
 * @example
 * ```ts ignore
 * import { fuzzPcap } from "./pcap.ts";
 * const summary = await fuzzPcap({ count: 5000, seed: 42 });
 * console.log(`${summary.cases} captures, ${summary.crashes} crashes, ${summary.hangs} hangs`);
 * ```
 */
export async function fuzzPcap(options: PcapFuzzOptions): Promise<FuzzSummary> {
  const { count, seed } = options;
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`Cannot fuzz: the count must be a whole number from 0 up, not ${count}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`Cannot fuzz: the seed must be a whole number from 0 to 4294967295, not ${seed}`);
  }
  const root = new URL("../../", import.meta.url);
  if (Deno.permissions.querySync({ name: "read", path: root }).state !== "granted") {
    throw new Deno.errors.NotCapable(
      `The pcap fuzzer runs its cases in a worker, which needs read access to ${decodeURIComponent(root.pathname)}`,
    );
  }
  const tally = new Tally(options);
  const started = performance.now();
  for (let next = 0; next < count;) next = await runWorker(next, tally, options);
  const { summary } = tally;
  // No worker ran (count 0), or the last one was stopped before its end: the process's own reading.
  summary.rssBefore ??= Deno.memoryUsage().rss;
  summary.rssAfter ??= Deno.memoryUsage().rss;
  summary.elapsedMs = Math.round(performance.now() - started);
  return summary;
}

/** The run's counts and kept failures, and its progress reports. */
class Tally {
  readonly summary: FuzzSummary;
  readonly #options: PcapFuzzOptions;
  readonly #progressStep: number;

  constructor(options: PcapFuzzOptions) {
    this.#options = options;
    this.#progressStep = Math.max(1, Math.floor(options.count / 100));
    this.summary = {
      target: "pcap",
      seed: options.seed,
      cases: 0,
      crashes: 0,
      hangs: 0,
      violations: 0,
      failures: [],
      elapsedMs: 0,
    };
  }

  fail(caseNumber: number, kind: "crash" | "hang" | "violation", problem: string) {
    const { summary } = this;
    if (kind === "crash") summary.crashes++;
    else if (kind === "hang") summary.hangs++;
    else summary.violations++;
    if (summary.failures.length < MAX_FAILURES) {
      const input = describePcapCase(pcapFuzzCase(this.#options.seed, caseNumber));
      summary.failures.push({ case: caseNumber, input, problem });
    }
  }

  done() {
    const cases = ++this.summary.cases;
    if (cases % this.#progressStep === 0 || cases === this.#options.count) this.#options.onProgress?.(cases);
  }
}

/** Runs cases from `first` in a fresh worker; resolves with the case to go on from. */
function runWorker(first: number, tally: Tally, options: PcapFuzzOptions): Promise<number> {
  const { count, seed, caseTimeoutMs = 5000, readerModule } = options;
  return new Promise<number>((resolve, reject) => {
    const worker = new Worker(new URL("./pcap_worker.ts", import.meta.url), { type: "module" });
    let current = first;
    let ready = false;
    let timer = setTimeout(() => {
      finish(new Error(`The pcap fuzzer's worker did not start within ${WORKER_START_MS / 1000} s`));
    }, WORKER_START_MS);
    const finish = (outcome: number | Error) => {
      clearTimeout(timer);
      worker.terminate();
      if (typeof outcome === "number") resolve(outcome);
      else reject(outcome);
    };
    // The deadline of the case under way, renewed as each case finishes.
    const watch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        tally.fail(current, "hang", `No result within ${caseTimeoutMs} ms`);
        tally.done();
        finish(current + 1);
      }, caseTimeoutMs);
    };
    worker.onmessage = ({ data }: MessageEvent<PcapWorkerMessage>) => {
      if (data.type === "ready") {
        ready = true;
        tally.summary.rssBefore ??= data.rss;
        watch();
      } else if (data.type === "case") {
        if (data.verdict) tally.fail(data.caseNumber, data.verdict.kind, data.verdict.problem);
        tally.done();
        current = data.caseNumber + 1;
        watch();
      } else {
        tally.summary.rssAfter = data.rss;
        finish(count);
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      if (!ready) return finish(new Error(`The pcap fuzzer's worker could not start: ${event.message}`));
      // checkCapture catches what the reader throws: this escaped the worker itself.
      tally.fail(current, "crash", `The worker died: ${event.message}`);
      tally.done();
      finish(current + 1);
    };
    worker.postMessage({ seed, first, count, readerModule } satisfies PcapWorkerStart);
  });
}
