/**
 * The echo checkers grade real servers over real sockets: both references
 * pass, both starters fail, and each broken server fails the stage that
 * catches its mistake, with the hint that names it.
 */

import assert from "node:assert/strict";
import { stages as concurrentStages } from "../katas/01-echo-threaded/check.ts";
import { startServer as threadedReference } from "../katas/01-echo-threaded/reference.ts";
import { startServer as threadedStarter } from "../katas/01-echo-threaded/starter.ts";
import { stages as eventLoopStages } from "../katas/02-echo-event-loop/check.ts";
import { startServer as eventLoopReference } from "../katas/02-echo-event-loop/reference.ts";
import { startServer as eventLoopStarter } from "../katas/02-echo-event-loop/starter.ts";
import type { CheckReport } from "../lib/check/report.ts";
import { runCheck } from "../lib/check/run.ts";
import type { Stage } from "../lib/check/stage.ts";
import type { StartServer } from "../lib/check/target.ts";
import { type Mistake, startBrokenServer } from "./fixtures/broken_echo.ts";
import { requires } from "./_support.ts";

const KATA_1 = {
  number: 1,
  title: "Concurrent echo server",
  stages: concurrentStages,
};
const KATA_2 = {
  number: 2,
  title: "Event-driven echo server",
  stages: eventLoopStages,
};

function check(
  kata: { number: number; title: string; stages: readonly Stage[] },
  start: StartServer,
) {
  return runCheck(kata, { kind: "module", label: "under test", start });
}

function firstFailure(report: CheckReport) {
  const failed = report.stages.find((stage) => stage.status === "fail");
  assert.ok(failed, `expected a failing stage, but all passed`);
  return failed;
}

function assertPassed(report: CheckReport) {
  const failed = report.stages.find((stage) => stage.status === "fail");
  assert.equal(
    failed,
    undefined,
    `${failed?.name}: ${failed?.message}\n${failed?.details ?? ""}`,
  );
  assert.equal(report.passed, true);
}

Deno.test("kata 1 checker passes the kata 1 reference", async () => {
  assertPassed(await check(KATA_1, threadedReference));
});

Deno.test("kata 2 checker passes the kata 2 reference", async () => {
  assertPassed(await check(KATA_2, eventLoopReference));
});

Deno.test("kata 1 checker fails the kata 1 starter at the first stage", async () => {
  const report = await check(KATA_1, threadedStarter);
  assert.equal(report.passed, false);
  assert.equal(firstFailure(report).name, concurrentStages[0].name);
  assert.ok(report.stages.slice(1).every((stage) => stage.status === "skip"));
});

Deno.test("kata 2 checker fails the kata 2 starter at the first stage", async () => {
  const report = await check(KATA_2, eventLoopStarter);
  assert.equal(report.passed, false);
  assert.equal(firstFailure(report).name, eventLoopStages[0].name);
});

/** Each classic mistake, the stage that must catch it, and a word its hint must contain. */
const CAUGHT: {
  mistake: Mistake;
  kata: typeof KATA_1;
  stage: string;
  hint: RegExp;
  /**
   * Run the server as its own process, as learners' servers run. In one
   * process with the checker, the two share an event loop, and whether a
   * reset reaches the server as an error or as a plain EOF varies from run
   * to run; across processes the reset stage is reliable.
   */
  ownProcess?: boolean;
}[] = [
  {
    mistake: "corrupts",
    kata: KATA_1,
    stage: "echoes a single byte",
    hint: /exactly the bytes read/,
  },
  {
    mistake: "one-at-a-time",
    kata: KATA_1,
    stage: "an idle client does not delay others",
    hint: /one client at a time/,
  },
  {
    mistake: "ignores-partial-writes",
    kata: KATA_1,
    stage: "echoes 8 MiB to a client that starts reading late (partial writes)",
    hint: /fewer bytes/,
  },
  {
    mistake: "never-closes",
    kata: KATA_1,
    stage: "half-close: echoes everything, then closes",
    hint: /returns null/,
  },
  {
    mistake: "dies-on-reset",
    kata: KATA_1,
    stage: "a client that resets mid-stream does not take the server down",
    hint: /ConnectionReset/,
    ownProcess: true,
  },
  {
    mistake: "nagle",
    kata: KATA_1,
    stage: "64 KiB request/response is not stalled by Nagle + delayed ACK",
    hint: /setNoDelay\(true\)/,
  },
  {
    mistake: "blocking-loop",
    kata: KATA_2,
    stage: eventLoopStages[5].name,
    hint: /high-water mark/,
  },
];

const run = requires("run");
const FIXTURE = decodeURIComponent(
  new URL("./fixtures/broken_echo.ts", import.meta.url).pathname,
);

for (const { mistake, kata, stage, hint, ownProcess } of CAUGHT) {
  Deno.test({
    name: `kata ${kata.number} checker catches a server that makes the mistake "${mistake}"${
      ownProcess ? run.suffix : ""
    }`,
    ignore: ownProcess && run.ignore,
    fn: async () => {
      const report = ownProcess
        ? await runCheck(kata, {
          kind: "command",
          command: `${Deno.execPath()} run --allow-net ${FIXTURE} ${mistake} {port}`,
        })
        : await check(kata, (options) => startBrokenServer(mistake, options));
      const failed = firstFailure(report);
      assert.equal(
        failed.name,
        stage,
        `failed at "${failed.name}": ${failed.message}`,
      );
      assert.match(failed.hint ?? "", hint);
    },
  });
}

Deno.test("kata 1 checker reports lost bytes with the offset and a caret", async () => {
  const report = await check(
    KATA_1,
    (options) => startBrokenServer("ignores-partial-writes", options),
  );
  const details = firstFailure(report).details ?? "";
  assert.match(details, /^first difference at byte \d+ of 8388608 expected/);
  assert.match(details, /\n\s+\^$/);
});

Deno.test("kata 2 checker shows the slow-reader stage between the idle and half-close stages", () => {
  const names = eventLoopStages.map((stage) => stage.name);
  assert.match(names[5], /reads nothing for 3 s/);
  assert.deepEqual(
    names.filter((name) => !concurrentStages.some((s) => s.name === name)),
    [names[5]],
  );
});
