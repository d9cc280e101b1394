/**
 * Stages at once: a subject whose leases are independent of each other may
 * let runStages() run a few stages side by side. The report is the same as
 * one stage at a time: in order, core before stretch, everything after the
 * first core failure skipped, and that failure reported as soon as every
 * stage before it is done.
 */

import assert from "node:assert/strict";
import { fixedSubject, runCheck, type Subject } from "../lib/check/run.ts";
import { runStages, type Stage, type StageResult } from "../lib/check/stage.ts";

/** A promise with its resolve function, to let one stage wait for another. */
function gate<T = void>() {
  let open!: (value: T) => void;
  const opened = new Promise<T>((resolve) => open = resolve);
  return { open, opened };
}

/** A stage that runs `body`; its context is the stage's abort signal. */
function stage(
  name: string,
  body: (signal: AbortSignal) => Promise<void>,
  options: Partial<Stage<AbortSignal>> = {},
): Stage<AbortSignal> {
  return { name, timeoutMs: 5_000, run: body, ...options };
}

const leases = (signal: AbortSignal) => ({ context: signal, release() {} });

Deno.test("runStages() with concurrency 2 runs the next stage while one is still running", async () => {
  const bStarted = gate();
  const results = await runStages(
    [
      stage("a waits for b", () => bStarted.opened),
      stage("b", () => {
        bStarted.open();
        return Promise.resolve();
      }),
    ],
    leases,
    { concurrency: 2 },
  );
  assert.deepEqual(results.map((r) => [r.name, r.status]), [["a waits for b", "pass"], ["b", "pass"]]);
});

Deno.test("runStages() with concurrency reports in the stages' order, whichever finishes first", async () => {
  const bDone = gate();
  const reported: string[] = [];
  const results = await runStages(
    [
      stage("a", () => bDone.opened),
      stage("b", () => {
        bDone.open();
        return Promise.resolve();
      }),
      stage("c", () => Promise.resolve()),
    ],
    leases,
    { concurrency: 2, onResult: (result) => reported.push(result.name) },
  );
  assert.deepEqual(reported, ["a", "b", "c"]);
  assert.deepEqual(results.map((r) => r.name), ["a", "b", "c"]);
});

Deno.test("runStages() never runs more stages at once than its concurrency", async () => {
  let running = 0;
  let most = 0;
  const counted = (name: string) =>
    stage(name, async () => {
      running++;
      most = Math.max(most, running);
      for (let turn = 0; turn < 5; turn++) await Promise.resolve();
      running--;
    });
  const results = await runStages(["a", "b", "c", "d", "e"].map(counted), leases, { concurrency: 2 });
  assert.equal(most, 2);
  assert.ok(results.every((r) => r.status === "pass"));
});

Deno.test("runStages() with concurrency reports a core failure at once, stops the stage still running and skips the rest", async () => {
  const reported: StageResult[] = [];
  let bStopped = false;
  const ran: string[] = [];
  const results = await runStages(
    [
      stage("a fails", () => {
        ran.push("a");
        return Promise.reject(new Error("a failed"));
      }),
      // Runs until it is stopped (its time limit is far off): only the
      // failure of a can end it.
      stage("b runs until stopped", (signal) => {
        ran.push("b");
        return new Promise((_, reject) =>
          signal.addEventListener("abort", () => {
            bStopped = true;
            reject(new Error("stopped"));
          })
        );
      }, { timeoutMs: 600_000 }),
      stage("c", () => {
        ran.push("c");
        return Promise.resolve();
      }),
      stage("s", () => {
        ran.push("s");
        return Promise.resolve();
      }, { level: "stretch" }),
    ],
    leases,
    { concurrency: 2, onResult: (result) => reported.push(result) },
  );
  assert.deepEqual(results.map((r) => [r.name, r.status]), [
    ["a fails", "fail"],
    ["b runs until stopped", "skip"],
    ["c", "skip"],
    ["s", "skip"],
  ]);
  assert.deepEqual(reported.map((r) => r.status), ["fail", "skip", "skip", "skip"]);
  assert.equal(bStopped, true, "b was left running");
  assert.deepEqual(ran, ["a", "b"]);
});

Deno.test("runStages() with concurrency starts the stretch stages only after every core stage passed", async () => {
  const coreDone = gate();
  let stretchStartedEarly = false;
  let coreFinished = false;
  const results = await runStages(
    [
      stage("core", async () => {
        await coreDone.opened;
        coreFinished = true;
      }),
      stage("stretch", () => {
        if (!coreFinished) stretchStartedEarly = true;
        return Promise.resolve();
      }, { level: "stretch" }),
      // Lets the core stage finish only once this stage has run, so that
      // the stretch stage would have had its chance to start early.
      stage("core 2", () => {
        coreDone.open();
        return Promise.resolve();
      }),
    ],
    leases,
    { concurrency: 2 },
  );
  assert.deepEqual(results.map((r) => [r.name, r.level, r.status]), [
    ["core", "core", "pass"],
    ["core 2", "core", "pass"],
    ["stretch", "stretch", "pass"],
  ]);
  assert.equal(stretchStartedEarly, false);
});

Deno.test("runCheck() runs stages side by side when the subject says its leases are independent", async () => {
  const bStarted = gate();
  const subject: Subject<AbortSignal> = {
    ...fixedSubject("independent", new AbortController().signal),
    lease: leases,
    concurrency: 2,
  };
  const report = await runCheck(
    {
      number: 9,
      title: "Side by side",
      stages: [
        stage("a waits for b", () => bStarted.opened, { timeoutMs: 2_000 }),
        stage("b", () => {
          bStarted.open();
          return Promise.resolve();
        }),
      ],
    },
    subject,
  );
  assert.equal(report.passed, true, JSON.stringify(report.stages));
});
