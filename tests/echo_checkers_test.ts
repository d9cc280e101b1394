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

Deno.test("kata 2 checker adds the quiet-client and slow-reader stages after the idle one, idle CPU before the last core stage, and C10K as stretch", () => {
  const names = eventLoopStages.map((stage) => stage.name);
  assert.match(names[5], /goes quiet after an echo/);
  assert.match(names[6], /reads nothing for 3 s/);
  assert.match(names.at(-3)!, /no CPU while its only client is idle/);
  assert.deepEqual(
    names.filter((name) => !concurrentStages.some((s) => s.name === name)),
    [names[5], names[6], names.at(-3), tenThousandIdle.name],
  );
  assert.deepEqual(eventLoopStages.filter((stage) => stage.level === "stretch"), [eventLoopStages.at(-1)]);
  assert.ok(concurrentStages.every((stage) => (stage.level ?? "core") === "core"));
});
