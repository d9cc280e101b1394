/**
 * What the echo stages show beyond pass and fail: the evidence of lost
 * bytes, and where Kata 2's extra stage sits. (References, starters and
 * broken servers are graded by the catalog self-test.)
 */

import assert from "node:assert/strict";
import { stages as concurrentStages } from "../katas/01-echo-threaded/check.ts";
import { stages as eventLoopStages } from "../katas/02-echo-event-loop/check.ts";
import { runCheck, serverSubject } from "../lib/check/run.ts";
import { tenThousandIdle } from "../lib/stages/echo_c10k.ts";
import { startBrokenServer } from "./fixtures/broken_echo.ts";

Deno.test("kata 1 checker reports lost bytes with the offset and a caret", async () => {
  const report = await runCheck(
    { number: 1, title: "Concurrent echo server", stages: concurrentStages },
    await serverSubject({
      kind: "module",
      label: "under test",
      start: (options) => startBrokenServer("ignores-partial-writes", options),
    }),
  );
  const failed = report.stages.find((stage) => stage.status === "fail");
  const details = failed?.details ?? "";
  assert.match(details, /^first difference at byte \d+ of 8388608 expected/);
  assert.match(details, /\n\s+\^$/);
});

Deno.test("kata 2 checker shows the slow-reader stage between the idle and half-close stages, and C10K as stretch", () => {
  const names = eventLoopStages.map((stage) => stage.name);
  assert.match(names[5], /reads nothing for 3 s/);
  assert.deepEqual(
    names.filter((name) => !concurrentStages.some((s) => s.name === name)),
    [names[5], tenThousandIdle.name],
  );
  assert.deepEqual(eventLoopStages.filter((stage) => stage.level === "stretch"), [eventLoopStages.at(-1)]);
  assert.ok(concurrentStages.every((stage) => (stage.level ?? "core") === "core"));
});
