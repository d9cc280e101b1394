/**
 * A `--file` client is checked once per content and runs the very bytes
 * that were checked: a new save is checked again, a file that changes
 * between the check and the run cannot slip unchecked bytes in, and what
 * the client says still names the learner's file.
 */

import assert from "node:assert/strict";
import { clientUnderTest } from "../lib/check/client.ts";
import { clientSubject } from "../lib/check/run.ts";
import { clientNetFlags } from "../lib/check/sandbox.ts";
import { startHttpFixture } from "../lib/http/fixture.ts";
import { TargetError } from "../lib/check/target.ts";
import { plain, requires, withTempDir } from "./_support.ts";
import { canSeeProcesses, findDescendant, stillRunningAfter, waitForProcess } from "./_processes.ts";

const needs = requires("run", "read", "write");

function attemptTest(name: string, fn: (dir: string) => Promise<void>) {
  Deno.test({
    name: `${name}${needs.suffix}`,
    ignore: needs.ignore,
    fn: () => withTempDir("netkata-client-attempt-", fn),
  });
}

const CLEAN = `console.log("clean");\n`;
const LEAKY = `import secret from "/etc/passwd" with { type: "text" };\nconsole.log(secret);\n`;

attemptTest("a --file client saved again with a forbidden import is checked again and refused", async (dir) => {
  const path = `${dir}/client.ts`;
  await using client = clientUnderTest({ kind: "deno-file", path });
  await Deno.writeTextFile(path, CLEAN);
  const first = await client.run("http://localhost:9/", 9);
  assert.equal(new TextDecoder().decode(first.stdout), "clean\n", first.stderr);
  await Deno.writeTextFile(path, LEAKY);
  await assert.rejects(client.run("http://localhost:9/", 9), (error: Error) => {
    assert.ok(error instanceof TargetError, String(error));
    assert.match(error.message, new RegExp(`^${path.replaceAll("/", "\\/")} imports \\/etc\\/passwd as text: `));
    return true;
  });
  // And back: the clean bytes, seen before, run again.
  await Deno.writeTextFile(path, CLEAN);
  const again = await client.run("http://localhost:9/", 9);
  assert.equal(new TextDecoder().decode(again.stdout), "clean\n", again.stderr);
});

attemptTest(
  "a --file client runs the bytes that were checked, even when the file gives other bytes the next time it is read",
  async (dir) => {
    // A named pipe is a file that gives whatever its writer writes, each
    // time it is opened: clean bytes first, then a leak. Read once for the
    // check and once more for the run, the leak would run unchecked. (When
    // the writer opens again before the first reader is gone, that one
    // reader gets both: a forbidden import, refused.)
    const path = `${dir}/client.ts`;
    const made = await new Deno.Command("mkfifo", { args: [path] }).output();
    assert.ok(made.success, new TextDecoder().decode(made.stderr));
    let written = false;
    const writer = (async () => {
      for (const source of [CLEAN, LEAKY]) {
        using pipe = await Deno.open(path, { write: true });
        try {
          await pipe.write(new TextEncoder().encode(source));
        } catch (error) {
          // The open met the last reader on its way out (it had its bytes
          // and EOF from the writer before): gone by the write, it takes
          // none of these. Nobody else is reading: the writer is done.
          if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
          break;
        }
      }
      written = true;
    })();
    await using client = clientUnderTest({ kind: "deno-file", path });
    try {
      const result = await client.run("http://localhost:9/", 9);
      const printed = new TextDecoder().decode(result.stdout);
      assert.doesNotMatch(printed, /root:/, "the unchecked bytes ran");
      assert.equal(printed, "clean\n", result.stderr);
    } catch (error) {
      if (!(error instanceof TargetError)) throw error;
      assert.match(error.message, /imports \/etc\/passwd as text: /);
    } finally {
      // Takes what is left out of the pipe, so that its writer finishes.
      if (!written) await Deno.readTextFile(path);
      await writer;
    }
  },
);

attemptTest("what a --file client says on stderr names the learner's file, not the checker's copy", async (dir) => {
  const path = `${dir}/client.ts`;
  await Deno.writeTextFile(path, `throw new Error("boom");\n`);
  await using client = clientUnderTest({ kind: "deno-file", path });
  const result = await client.run("http://localhost:9/", 9);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /Uncaught.*boom/);
  const stderr = plain(result.stderr);
  assert.ok(stderr.includes(`file://${path}:1:7`), stderr);
});

Deno.test({
  name: `ClientUnderTest.run() stops the client, and everything it started, when its signal is aborted${
    requires("run").suffix
  }`,
  ignore: requires("run").ignore,
  async fn() {
    // The client starts a child of its own, which must go with it.
    const client = clientUnderTest({
      kind: "command",
      command: `sh -c 'sleep 1001 & wait' {url}`,
    });
    const controller = new AbortController();
    const running = client.run("http://localhost:9/", 9, 60_000, controller.signal);
    running.catch(() => {});
    const sleeper = canSeeProcesses
      ? await waitForProcess(() => findDescendant(Deno.pid, (args) => args === "sleep 1001"), "client's child")
      : undefined;
    controller.abort();
    await assert.rejects(running, (error: Error) => error.name === "AbortError");
    if (sleeper) assert.deepEqual(await stillRunningAfter([sleeper]), [], "the client's child outlived the abort");
  },
});

Deno.test("clientSubject() gives each stage a fixture server of its own, and lets stages run side by side", async () => {
  const subject = clientSubject(
    { kind: "module", label: "nothing", run: () => Promise.resolve(0) },
    () => startHttpFixture(),
  );
  try {
    assert.ok((subject.concurrency ?? 1) > 1);
    const first = subject.lease(new AbortController().signal);
    const second = subject.lease(new AbortController().signal);
    assert.notEqual(first.context.fixture.port, second.context.fixture.port);
    first.release();
    second.release();
  } finally {
    await subject[Symbol.asyncDispose]();
  }
});

Deno.test("clientNetFlags() without a list of listening ports denies every port of localhost but the fixture's, wherever that port falls", () => {
  for (const port of [1, 4_999, 5_000, 5_001, 8_080, 65_000, 65_001, 65_535]) {
    const [allow, ...deny] = clientNetFlags(port, undefined);
    assert.equal(allow, `--allow-net=localhost,127.0.0.1:${port},[::1]:${port}`);
    const denied = new Set(deny.flatMap((flag) => flag.replace(/^--deny-net=/, "").split(",")));
    assert.equal(denied.size, 65_534, `port ${port}`);
    assert.ok(!denied.has(`localhost:${port}`), `port ${port} is denied`);
    for (const other of [1, 2, 4_999, 5_000, 5_001, 65_534, 65_535]) {
      if (other !== port) assert.ok(denied.has(`localhost:${other}`), `port ${other} is allowed with ${port}`);
    }
    assert.ok(deny.every((flag) => flag.length < 128 * 1024));
  }
});

attemptTest("a check stopped by Ctrl-C (Deno.exit, no dispose) leaves no copy of the attempt behind", async (dir) => {
  const path = `${dir}/client.ts`;
  await Deno.writeTextFile(path, CLEAN);
  // What runMain does on Ctrl-C: exit at once, with the check's `await using` still pending.
  const script = `${dir}/interrupted.ts`;
  await Deno.writeTextFile(
    script,
    `import { AttemptCopies } from ${JSON.stringify(new URL("../lib/check/attempt_copy.ts", import.meta.url).href)};
const copies = new AttemptCopies(${JSON.stringify(path)});
console.log((await copies.checked()).path);
Deno.exit(130);
`,
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-run", script],
    stdin: "null",
  }).output();
  assert.equal(output.code, 130, new TextDecoder().decode(output.stderr));
  const copy = new TextDecoder().decode(output.stdout).trim();
  assert.match(copy, /netkata-attempt-.*\/client\.ts$/);
  const folder = copy.match(/^.*\/netkata-attempt-[^/]+/)![0];
  await assert.rejects(Deno.stat(folder), Deno.errors.NotFound, `${folder} is still there`);
});

attemptTest("a --file client that is a folder is refused in the kit's words", async (dir) => {
  await using client = clientUnderTest({ kind: "deno-file", path: dir });
  await assert.rejects(client.run("http://localhost:9/", 9), (error: Error) => {
    assert.ok(error instanceof TargetError, String(error));
    assert.equal(error.message, `Not a file: ${dir}`);
    return true;
  });
});
