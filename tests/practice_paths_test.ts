/**
 * Paths as the learner types them: `deno task` runs every task in the
 * project folder and says in INIT_CWD where the learner was, so a relative
 * `--file` or `--logs` means a path from there, and files outside the
 * project can be checked and logged to. Run through `deno task` itself, from
 * a folder outside the project.
 */

import assert from "node:assert/strict";
import { requires, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

/** `deno task NAME ARGS` run from `cwd`, with the project's deno.json. */
async function denoTask(cwd: string, name: string, args: string[], env: Record<string, string> = {}) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "--config", `${ROOT}deno.json`, name, ...args],
    cwd,
    stdin: "null",
    // As from the learner's shell: no INIT_CWD of an outer `deno task` (a nested one keeps it, as npm does).
    clearEnv: true,
    env: { NO_COLOR: "1", ...env },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

function pathsTest(name: string, fn: (dir: string) => Promise<void>) {
  Deno.test({ name: `${name}${needs.suffix}`, ignore: needs.ignore, fn: () => withTempDir("netkata-paths-", fn) });
}

pathsTest(
  "deno task kata:1 check --file: a relative path outside the project is found, and the pass recorded untimed in --logs",
  async (dir) => {
    await Deno.copyFile(`${ROOT}katas/01-echo-threaded/reference.ts`, `${dir}/mine.ts`);
    const run = await denoTask(dir, "kata:1", ["check", "--file", "mine.ts", "--logs", "my-logs"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /All 9 stages passed/);
    assert.match(run.stdout, /Recorded as an untimed pass/);
    const record = JSON.parse(await Deno.readTextFile(`${dir}/my-logs/attempts.jsonl`));
    assert.equal(record.kata, 1);
    assert.equal(record.result, "pass");
    assert.equal(record.untimed, true);
    assert.equal(record.file, `${dir}/mine.ts`);
  },
);

pathsTest(
  "deno task kata:2 check --file --track syscalls: the untimed pass is recorded with its track and its stretch stages",
  async (dir) => {
    await Deno.copyFile(`${ROOT}katas/02-echo-event-loop/reference_syscalls.ts`, `${dir}/mine.ts`);
    const run = await denoTask(dir, "kata:2", ["check", "--file", "mine.ts", "--track", "syscalls", "--logs", "logs"]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const record = JSON.parse(await Deno.readTextFile(`${dir}/logs/attempts.jsonl`));
    assert.equal(record.untimed, true);
    assert.equal(record.track, "syscalls", "status would count this pass on the Deno.listen track");
    assert.ok(record.stretch?.length > 0, `no stretch stages recorded: ${JSON.stringify(record)}`);
    const status = await denoTask(dir, "status", ["--logs", "logs"]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
  },
);

pathsTest(
  "deno task kata:1 check --file: a failing check is not recorded",
  async (dir) => {
    await Deno.copyFile(`${ROOT}katas/01-echo-threaded/starter.ts`, `${dir}/mine.ts`);
    const run = await denoTask(dir, "kata:1", ["check", "--file", "mine.ts", "--logs", "my-logs"]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    await assert.rejects(Deno.stat(`${dir}/my-logs/attempts.jsonl`), Deno.errors.NotFound);
  },
);

pathsTest(
  "deno task kata:N log and status --logs DIR work on a folder outside the project",
  async (dir) => {
    const logged = await denoTask(dir, "kata:3", ["log", "forgot Host", "--logs", "elsewhere/logs"]);
    assert.equal(logged.code, 0, logged.stdout + logged.stderr);
    assert.match(await Deno.readTextFile(`${dir}/elsewhere/logs/03-http-client.md`), /forgot Host/);
    const status = await denoTask(dir, "status", ["--logs", "elsewhere/logs"]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /Kata 3: 1 logged/);
  },
);

pathsTest(
  "deno task kata:5 check --file: a capture outside the project is read",
  async (dir) => {
    await Deno.copyFile(`${ROOT}tests/fixtures/captures/handshake-no-close.pcap`, `${dir}/handshake.pcap`);
    const run = await denoTask(dir, "kata:5", ["check", "--file", "handshake.pcap", "--logs", "logs"]);
    assert.doesNotMatch(run.stdout + run.stderr, /allow-read|No such file/, run.stdout + run.stderr);
    // Read and graded: this capture has no close, so the core stops short of it.
    assert.match(run.stdout, /2 of 4 core stages passed/, run.stdout + run.stderr);
    assert.equal(run.code, 1, run.stderr);
  },
);

pathsTest(
  "deno task kata:N --continue says in one sentence when there is nothing to continue",
  async (dir) => {
    const none = await denoTask(dir, "kata:1", ["--continue", "--logs", "logs"]);
    assert.equal(none.code, 2, none.stdout + none.stderr);
    assert.match(
      none.stderr,
      /^There is no attempt at Kata 1 in \S+ to continue: start a fresh one with deno task kata:1\n/,
    );
    const capture = await denoTask(dir, "kata:5", ["--continue", "--logs", "logs"]);
    assert.equal(capture.code, 2, capture.stdout + capture.stderr);
    assert.match(capture.stderr, /^Kata 5 has no attempt file to continue: --continue is for katas 1 to 4\n/);
    const help = await denoTask(dir, "kata:1", ["--help"]);
    assert.match(help.stdout, /deno task kata:1 --continue +continue your last stopped attempt/);
  },
);

pathsTest("deno task pcap: a relative path outside the project is read from where the command ran", async (dir) => {
  await Deno.copyFile(`${ROOT}tests/fixtures/captures/handshake-no-close.pcap`, `${dir}/handshake.pcap`);
  // A shell's PATH: the task may run tshark, and Deno looks for it at start.
  const run = await denoTask(dir, "pcap", ["handshake.pcap"], { PATH: "/usr/local/bin:/usr/bin:/bin" });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /SYN/);
});
