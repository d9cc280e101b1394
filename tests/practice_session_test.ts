/**
 * The practice session, end to end, in a real pseudo-terminal (util-linux
 * `script`): a fresh attempt appears, a save runs the checker, a pass is
 * recorded and a mistake logged; `q` stops and records the failed stages.
 */

import assert from "node:assert/strict";
import { requires, withTempDir } from "./_support.ts";
import { haveScript, TerminalSession } from "./_terminal.ts";

const needs = requires("run", "read", "write");
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

function sessionTest(name: string, fn: (logs: string) => Promise<void>) {
  Deno.test({
    name: `${name}${needs.suffix || (haveScript ? "" : " [ignored: needs util-linux script]")}`,
    ignore: needs.ignore || !haveScript,
    fn: () => withTempDir("netkata-session-", fn),
  });
}

const kataArgs = (logs: string) => [
  "run",
  "--allow-net",
  `--allow-read=${ROOT},${logs}`,
  `--allow-write=${logs}`,
  "--allow-run",
  "tasks/kata.ts",
  "1",
  "--logs",
  logs,
];

sessionTest(
  "practice session: saving a passing attempt records it and logs a mistake",
  async (logs) => {
    await using session = new TerminalSession(kataArgs(logs), ROOT);
    const [, attempt] = await session.waitFor(
      /Your fresh attempt: (\S+attempt-001\.ts)/,
    );
    await session.waitFor(/left · save to check/);
    assert.match(
      await Deno.readTextFile(attempt),
      /TODO/,
      "the attempt starts as a copy of the starter",
    );

    await Deno.copyFile(`${ROOT}katas/01-echo-threaded/reference.ts`, attempt);
    await session.waitFor(/All 9 stages passed\./);
    await session.waitFor(/One mistake you made this time/);
    await session.type("forgot setNoDelay\r");
    await session.waitFor(/Logged in /);
    assert.equal(await session.exitCode(), 0);

    const [line, ...rest] = (await Deno.readTextFile(`${logs}/attempts.jsonl`))
      .trim().split("\n");
    assert.equal(rest.length, 0);
    const record = JSON.parse(line);
    assert.equal(record.kata, 1);
    assert.equal(record.result, "pass");
    assert.deepEqual(record.failedStages, []);
    assert.equal(record.file, "01-echo-threaded/attempt-001.ts");
    assert.match(
      await Deno.readTextFile(`${logs}/01-echo-threaded.md`),
      /- \d{4}-\d\d-\d\d: forgot setNoDelay\n$/,
    );
  },
);

sessionTest(
  "practice session: Enter checks, q stops and records the failing stage",
  async (logs) => {
    await using session = new TerminalSession(kataArgs(logs), ROOT);
    await session.waitFor(/left · save to check/);
    await session.type("\r");
    await session.waitFor(/0 of 9 stages passed/);
    await session.type("q");
    await session.waitFor(/Recorded as not passed/);
    assert.equal(await session.exitCode(), 0);
    const record = JSON.parse(
      await Deno.readTextFile(`${logs}/attempts.jsonl`),
    );
    assert.equal(record.result, "fail");
    assert.deepEqual(record.failedStages, ["echoes a single byte"]);
  },
);
