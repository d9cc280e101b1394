/**
 * The practice session, end to end, in a real pseudo-terminal (util-linux
 * `script`): a fresh attempt appears, a save runs the checker, a pass is
 * recorded and a mistake logged; `q` stops and records the failed stages.
 */

import assert from "node:assert/strict";
import { kitArgs, requires, ROOT, runKit, withTempDir } from "./_support.ts";
import { haveScript, TerminalSession } from "./_terminal.ts";

const needs = requires("run", "read", "write");

function sessionTest(name: string, fn: (logs: string) => Promise<void>) {
  Deno.test({
    name: `${name}${needs.suffix || (haveScript ? "" : " [ignored: needs util-linux script]")}`,
    ignore: needs.ignore || !haveScript,
    fn: () => withTempDir("netkata-session-", fn),
  });
}

const kataArgs = (logs: string) => kitArgs("kata.ts", ["1"], logs);

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
  "practice session: a pass records the stretch stages beside it, and status shows them",
  async (logs) => {
    await using session = new TerminalSession(kitArgs("kata.ts", ["4"], logs), ROOT);
    const [, attempt] = await session.waitFor(/Your fresh attempt: (\S+attempt-001\.ts)/);
    await session.waitFor(/left · save to check/);
    await Deno.copyFile(`${ROOT}katas/04-http-server/reference.ts`, attempt);
    await session.waitFor(/One mistake you made this time/);
    await session.type("\r");
    assert.equal(await session.exitCode(), 0);

    const record = JSON.parse(await Deno.readTextFile(`${logs}/attempts.jsonl`));
    assert.equal(record.result, "pass");
    assert.ok(record.stretch.length >= 2, JSON.stringify(record.stretch));
    assert.ok(record.stretch.every((stage: { status: string }) => stage.status === "pass"), JSON.stringify(record));
    const status = await runKit("status.ts", [], logs);
    assert.equal(status.code, 0, status.stderr);
    const text = status.stdout;
    assert.match(text, new RegExp(`Kata 4, [^:]+: ${record.stretch.length} of ${record.stretch.length} passed`), text);
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
    await session.waitFor(
      /Recorded as stopped \(not failed\); continue it with deno task kata:1 --continue --logs \S+\./,
    );
    assert.equal(await session.exitCode(), 0);
    const record = JSON.parse(
      await Deno.readTextFile(`${logs}/attempts.jsonl`),
    );
    assert.equal(record.result, "stopped", "stopping is not failing");
    assert.deepEqual(record.failedStages, ["echoes a single byte"]);
  },
);

sessionTest(
  "practice session: --continue resumes the last stopped attempt with its elapsed time",
  async (logs) => {
    await Deno.mkdir(`${logs}/01-echo-threaded`);
    await Deno.copyFile(`${ROOT}katas/01-echo-threaded/starter.ts`, `${logs}/01-echo-threaded/attempt-001.ts`);
    const stopped = {
      kata: 1,
      started: "2026-11-20T10:00:00.000Z",
      durationMs: 10 * 60_000,
      result: "stopped",
      failedStages: ["echoes a single byte"],
      file: "01-echo-threaded/attempt-001.ts",
    };
    await Deno.writeTextFile(`${logs}/attempts.jsonl`, JSON.stringify(stopped) + "\n");
    await using session = new TerminalSession([...kataArgs(logs), "--continue"], ROOT);
    await session.waitFor(/Continuing your attempt: \S+attempt-001\.ts, 10:00 in/);
    await session.waitFor(/(20:00|19:5\d) left · save to check/);
    await session.type("q");
    await session.waitFor(/Recorded as stopped/);
    assert.equal(await session.exitCode(), 0);
    const lines = (await Deno.readTextFile(`${logs}/attempts.jsonl`)).trim().split("\n");
    assert.equal(lines.length, 2);
    const resumed = JSON.parse(lines[1]);
    assert.equal(resumed.started, stopped.started, "the same attempt, continued");
    assert.ok(
      Date.parse(resumed.ended) > Date.parse(stopped.started) + stopped.durationMs,
      "ended: now, not back then",
    );
    assert.equal(resumed.file, stopped.file);
    assert.ok(resumed.durationMs >= 10 * 60_000, `${resumed.durationMs} ms: the elapsed time carried on`);
    assert.equal([...Deno.readDirSync(`${logs}/01-echo-threaded`)].length, 1, "no fresh attempt was made");
  },
);

sessionTest(
  "practice session: a type error is a failed stage; after a pass, the diff and the session's failed stages are offered",
  async (logs) => {
    await using session = new TerminalSession(kataArgs(logs), ROOT);
    const [, attempt] = await session.waitFor(/Your fresh attempt: (\S+attempt-001\.ts)/);
    await session.waitFor(/left · save to check/);
    await session.type("\r");
    await session.waitFor(/0 of 9 stages passed/);
    const reference = await Deno.readTextFile(`${ROOT}katas/01-echo-threaded/reference.ts`);
    await Deno.writeTextFile(attempt, `${reference}\nconst wrong: number = "a string";\n`);
    await session.waitFor(/FAIL {2}type-checks[^]*TS2322/);
    await Deno.writeTextFile(attempt, `${reference}\n// my own note\n`);
    await session.waitFor(/All 9 stages passed\./);
    await session.waitFor(/Your attempt against the reference[^]*- \/\/ my own note/);
    await session.waitFor(/1\) echoes a single byte[^]*2\) type-checks/);
    await session.waitFor(/One mistake you made this time/);
    await session.type("2\r");
    await session.waitFor(/Logged in /);
    assert.equal(await session.exitCode(), 0);
    assert.match(await Deno.readTextFile(`${logs}/01-echo-threaded.md`), /: type-checks failed\n$/);
  },
);

/** Passes Kata 1 at once: the reference as the attempt. */
async function passAtOnce(logs: string): Promise<TerminalSession> {
  const session = new TerminalSession(kataArgs(logs), ROOT);
  const [, attempt] = await session.waitFor(/Your fresh attempt: (\S+attempt-001\.ts)/);
  await session.waitFor(/left · save to check/);
  await Deno.copyFile(`${ROOT}katas/01-echo-threaded/reference.ts`, attempt);
  await session.waitFor(/One mistake you made this time/);
  return session;
}

sessionTest(
  "practice session: the mistake prompt edits with arrows and Backspace over non-ASCII letters",
  async (logs) => {
    await using session = await passAtOnce(logs);
    await session.type("forgot Ä🙂\x7fö x\x1b[D\x1b[D\x1b[Dß\x1b[C\x1b[C\x7fy\r");
    await session.waitFor(/Logged in /);
    assert.equal(await session.exitCode(), 0);
    assert.match(await Deno.readTextFile(`${logs}/01-echo-threaded.md`), /: forgot Äßöyx\n$/);
  },
);

sessionTest(
  "practice session: Ctrl-C at the mistake prompt logs nothing",
  async (logs) => {
    await using session = await passAtOnce(logs);
    await session.type("half a li");
    await session.waitFor(/half a li/);
    await session.type("\x03");
    await session.waitFor(/Nothing logged/);
    await session.exitCode();
    await assert.rejects(Deno.stat(`${logs}/01-echo-threaded.md`), Deno.errors.NotFound);
  },
);
