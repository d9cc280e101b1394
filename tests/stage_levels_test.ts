/**
 * Core and stretch: a kata's verdict says whether the seed's standard (the
 * core stages) is met and, apart from it, which stretch stages pass. Core
 * stages run first; a core failure skips what follows, a stretch failure
 * skips nothing; the exit status follows the core.
 */

import assert from "node:assert/strict";
import { formatStage, formatSummary, reportToJson } from "../lib/check/report.ts";
import { fixedSubject, runCheck } from "../lib/check/run.ts";
import { runStages, type Stage, StageFailure } from "../lib/check/stage.ts";
import { plain } from "./_support.ts";

/** A stage that records that it ran, and passes or fails as told. */
function stage(name: string, outcome: "pass" | "fail", level?: "core" | "stretch"): Stage<string[]> {
  return {
    name,
    level,
    run(ran) {
      ran.push(name);
      if (outcome === "fail") return Promise.reject(new StageFailure(`${name} failed`));
      return Promise.resolve();
    },
  };
}

async function runAll(stages: Stage<string[]>[]) {
  const ran: string[] = [];
  const results = await runStages(stages, () => ({ context: ran, release() {} }));
  return { ran, results };
}

Deno.test("runStages() runs the core stages first and the stretch stages after, whatever the order given", async () => {
  const { ran, results } = await runAll([
    stage("a", "pass"),
    stage("s1", "pass", "stretch"),
    stage("b", "pass", "core"),
    stage("s2", "pass", "stretch"),
  ]);
  assert.deepEqual(ran, ["a", "b", "s1", "s2"]);
  assert.deepEqual(results.map((r) => [r.name, r.level]), [
    ["a", "core"],
    ["b", "core"],
    ["s1", "stretch"],
    ["s2", "stretch"],
  ]);
});

Deno.test("runStages() skips everything after a core failure, the stretch stages too", async () => {
  const { ran, results } = await runAll([
    stage("a", "fail"),
    stage("b", "pass"),
    stage("s1", "pass", "stretch"),
  ]);
  assert.deepEqual(ran, ["a"]);
  assert.deepEqual(results.map((r) => r.status), ["fail", "skip", "skip"]);
});

Deno.test("runStages() goes on after a stretch failure: each stretch stage stands alone", async () => {
  const { ran, results } = await runAll([
    stage("a", "pass"),
    stage("s1", "fail", "stretch"),
    stage("s2", "pass", "stretch"),
  ]);
  assert.deepEqual(ran, ["a", "s1", "s2"]);
  assert.deepEqual(results.map((r) => r.status), ["pass", "fail", "pass"]);
});

const kata = (stages: Stage<string[]>[]) => ({ number: 9, title: "Levels", stages });

/** Text without its colours, which are on when the tests run in a terminal. */

Deno.test("runCheck() passes on the core alone and lists the stretch stages apart", async () => {
  const report = await runCheck(
    kata([stage("a", "pass"), stage("s1", "fail", "stretch"), stage("s2", "pass", "stretch")]),
    fixedSubject("test", [] as string[]),
  );
  assert.equal(report.passed, true);
  assert.equal(report.core, "passed");
  assert.deepEqual(report.stretch, [{ name: "s1", status: "fail" }, { name: "s2", status: "pass" }]);
  const json = JSON.parse(reportToJson(report));
  assert.equal(json.core, "passed");
  assert.deepEqual(json.stretch, report.stretch);
  assert.equal(json.stages[1].level, "stretch");
});

Deno.test("runCheck() fails on a core failure, and its stretch stages are skipped", async () => {
  const report = await runCheck(
    kata([stage("a", "fail"), stage("s1", "pass", "stretch")]),
    fixedSubject("test", [] as string[]),
  );
  assert.equal(report.passed, false);
  assert.equal(report.core, "failed");
  assert.deepEqual(report.stretch, [{ name: "s1", status: "skip" }]);
});

Deno.test("formatStage() marks a stretch stage; formatSummary() names the core, then each stretch stage", async () => {
  const report = await runCheck(
    kata([stage("a", "pass"), stage("b", "pass"), stage("big", "fail", "stretch"), stage("rfc", "pass", "stretch")]),
    fixedSubject("test", [] as string[]),
  );
  assert.match(plain(formatStage(report.stages[2])), /^ {2}FAIL {2}stretch · big/);
  assert.doesNotMatch(plain(formatStage(report.stages[0])), /stretch/);
  const summary = plain(formatSummary(report));
  assert.match(summary, /All 2 core stages passed/);
  assert.match(summary, /Stretch: 1 of 2 passed; not yet: big/);
});

Deno.test("formatSummary() of a kata without stretch stages says nothing of them", async () => {
  const report = await runCheck(kata([stage("a", "pass")]), fixedSubject("test", [] as string[]));
  const summary = plain(formatSummary(report));
  assert.match(summary, /All 1 stages passed\.$/);
  assert.deepEqual(report.stretch, []);
});
