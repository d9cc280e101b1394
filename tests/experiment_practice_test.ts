/**
 * Kata 6's practice session end to end in a real pseudo-terminal, with a
 * sweep measured earlier in place of the lab: predictions are required
 * before the measurement, the sweep's soundness stages run, the paragraph is
 * graded by the rubric on the card, and only a sound sweep explained well
 * is recorded as a pass.
 */

import assert from "node:assert/strict";
import { CRITERIA } from "../lib/practice/explanation_rubric.ts";
import { lossApplied } from "../lib/stages/experiment.ts";
import { kitArgs, requires, ROOT, withTempDir } from "./_support.ts";
import { haveScript, TerminalSession } from "./_terminal.ts";
import { GOOD_FOR_CROSSING, LOREM_IPSUM } from "./fixtures/measured_sweeps.ts";

const needs = requires("run", "read", "write");

function sessionTest(name: string, fn: (logs: string) => Promise<void>) {
  Deno.test({
    name: `${name}${needs.suffix || (haveScript ? "" : " [ignored: needs util-linux script]")}`,
    ignore: needs.ignore || !haveScript,
    fn: () => withTempDir("netkata-k6-session-", fn),
  });
}

const sessionArgs = (logs: string, sweep: "crossing" | "unsound") => [
  "run",
  `--allow-read=${ROOT},${logs}`,
  `--allow-write=${logs}`,
  "tests/fixtures/experiment_session.ts",
  logs,
  sweep,
];

/** Answers the predictions: an empty answer first, which must be asked again. */
async function predict(session: TerminalSession): Promise<void> {
  await session.waitFor(/TCP goodput at 1% loss, in per cent of its goodput at 0%/);
  await session.type("\r");
  await session.waitFor(/A number such as 50, please\.\r?\n[^\n]*TCP goodput at 1% loss/);
  await session.type("50\r");
  await session.waitFor(/TCP goodput at 5% loss/);
  await session.type("10\r");
  await session.waitFor(/TCP goodput at 10% loss/);
  await session.type("1\r");
  await session.waitFor(/At which loss does TCP's goodput first fall below UDP's/);
  await session.type("5\r");
}

/** The session's saved sweep JSON. */
async function savedSweep(logs: string): Promise<Record<string, unknown>> {
  const files = [...Deno.readDirSync(`${logs}/06-tcp-vs-udp`)].map((entry) => entry.name);
  const json = files.filter((name) => name.endsWith(".json"));
  assert.equal(json.length, 1, files.join(", "));
  return JSON.parse(await Deno.readTextFile(`${logs}/06-tcp-vs-udp/${json[0]}`));
}

async function attempts(logs: string) {
  return (await Deno.readTextFile(`${logs}/attempts.jsonl`)).trim().split("\n").map((line) => JSON.parse(line));
}

sessionTest(
  "Kata 6 practice: predictions first, lorem ipsum refused, a paragraph from the data passes",
  async (logs) => {
    await using session = new TerminalSession(sessionArgs(logs, "crossing"), ROOT);
    await predict(session);
    await session.waitFor(/Real-time stream: /);
    await session.waitFor(/Request\/response: 10240 bytes per answer/);
    await session.waitFor(/Crossover: you said 5%; TCP fell below UDP first at 10% \(it was above at 5%\): off\./);
    await session.waitFor(/PASS +every run of the sweep finished/);
    await session.waitFor(/In one paragraph/);
    await session.type(`${LOREM_IPSUM}\r`);
    await session.waitFor(new RegExp(`✗ ${CRITERIA.paragraph}`));
    await session.waitFor(/Revise your paragraph/);
    await session.type(`${GOOD_FOR_CROSSING}\r`);
    await session.waitFor(new RegExp(`✓ ${CRITERIA.crossover}`));
    await session.waitFor(/Passed: a sound sweep, explained/);
    assert.equal(await session.exitCode(), 0);

    const [record, ...more] = await attempts(logs);
    assert.equal(more.length, 0);
    assert.equal(record.kata, 6);
    assert.equal(record.result, "pass");
    assert.deepEqual(record.failedStages, []);
    const saved = await savedSweep(logs);
    assert.equal(saved.explanation, GOOD_FOR_CROSSING);
    assert.deepEqual(saved.predictions, {
      baseline: 0,
      tcp: [{ loss: 1, percent: 50 }, { loss: 5, percent: 10 }, { loss: 10, percent: 1 }],
      crossover: 5,
    });
    assert.equal((saved.grade as { passed: boolean }).passed, true);
  },
);

sessionTest("Kata 6 practice: a sweep that is not sound is not a pass, however good the paragraph", async (logs) => {
  await using session = new TerminalSession(sessionArgs(logs, "unsound"), ROOT);
  await predict(session);
  await session.waitFor(/FAIL +the loss UDP saw matches the loss asked for/);
  await session.waitFor(/this session cannot pass/);
  await session.waitFor(/In one paragraph/);
  await session.type(`${GOOD_FOR_CROSSING}\r`);
  await session.waitFor(/Recorded as not passed/);
  assert.equal(await session.exitCode(), 0);
  const [record] = await attempts(logs);
  assert.equal(record.result, "fail");
  assert.ok(record.failedStages.includes(lossApplied.name), record.failedStages.join("; "));
});

sessionTest("Kata 6 practice: Ctrl-D at a prediction stops before measuring, and records nothing", async (logs) => {
  await using session = new TerminalSession(sessionArgs(logs, "crossing"), ROOT);
  await session.waitFor(/TCP goodput at 1% loss/);
  await session.type("\x04");
  await session.waitFor(/Stopped before measuring: nothing measured, nothing recorded\./);
  assert.equal(await session.exitCode(), 0);
  assert.deepEqual([...Deno.readDirSync(logs)], []);
});

Deno.test({
  name: `kata:6 practice without a terminal refuses to measure without predictions${needs.suffix}`,
  ignore: needs.ignore,
  fn: () =>
    withTempDir("netkata-k6-session-", async (logs) => {
      const output = await new Deno.Command(Deno.execPath(), {
        args: kitArgs("kata.ts", ["6"], logs),
        cwd: ROOT,
        stdin: "null",
        env: { NO_COLOR: "1" },
      }).output();
      const stdout = new TextDecoder().decode(output.stdout);
      assert.equal(output.code, 0);
      assert.match(stdout, /Practice starts with your predictions, and they need a terminal: no session here\./);
      assert.match(stdout, /deno task kata:6 run/);
      assert.deepEqual([...Deno.readDirSync(logs)], [], "measured or recorded without predictions");
    }),
});
