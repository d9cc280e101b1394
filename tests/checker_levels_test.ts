/**
 * Which stages of each kata are stretch: Kata 2's C10K, Kata 4's RFC-grade
 * errors and slowloris; none of Katas 1 and 3. A server that meets the
 * seed's standard and no more passes, with its stretch failures listed.
 */

import assert from "node:assert/strict";
import { stages as kata1 } from "../katas/01-echo-threaded/check.ts";
import { stages as kata2 } from "../katas/02-echo-event-loop/check.ts";
import { stages as kata3 } from "../katas/03-http-client/check.ts";
import { stages as kata4 } from "../katas/04-http-server/check.ts";
import { runCheck, serverSubject } from "../lib/check/run.ts";
import { levelOf, type Stage } from "../lib/check/stage.ts";
import { tenThousandIdle } from "../lib/stages/echo_c10k.ts";
import { halfSentRequests, rfcErrors } from "../lib/stages/http_server.ts";
import { startBrokenHttpServer } from "./fixtures/broken_http_server.ts";

const stretchOf = (stages: readonly Stage<never>[]) =>
  stages.filter((stage) => levelOf(stage) === "stretch").map((stage) => stage.name);

Deno.test("the stretch stages are Kata 2's C10K and Kata 4's RFC-grade errors and slowloris, each listed last", () => {
  assert.deepEqual(stretchOf(kata1), []);
  assert.deepEqual(stretchOf(kata2), [tenThousandIdle.name]);
  assert.deepEqual(stretchOf(kata3), []);
  assert.deepEqual(stretchOf(kata4), [rfcErrors.name, halfSentRequests.name]);
  for (const stages of [kata2, kata4]) {
    const first = stages.findIndex((stage) => levelOf(stage) === "stretch");
    assert.ok(stages.slice(first).every((stage) => levelOf(stage) === "stretch"), "a core stage after a stretch one");
  }
});

Deno.test("a Kata 4 server that serves one client at a time meets the core and fails slowloris, a stretch stage", async () => {
  const report = await runCheck(
    { number: 4, title: "Minimal HTTP/1.1 server", stages: kata4 },
    await serverSubject({
      kind: "module",
      label: "one at a time",
      start: (options) => startBrokenHttpServer("one-at-a-time", options),
    }),
  );
  assert.equal(report.passed, true, JSON.stringify(report.stages.filter((stage) => stage.status === "fail")));
  assert.equal(report.core, "passed");
  assert.deepEqual(report.stretch, [
    { name: rfcErrors.name, status: "pass" },
    { name: halfSentRequests.name, status: "fail" },
  ]);
});
