/**
 * The syscall track of katas 1 and 2 as a learner meets it: `--track
 * syscalls` on check, run and practice, the note before a file runs with
 * --allow-ffi, attempts recorded per track and counted apart by `deno task
 * status`, and the checker naming a forgotten htons. (The references,
 * starters and the track's broken servers are graded by the catalog
 * self-test.)
 */

import assert from "node:assert/strict";
import { startTarget, TargetError } from "../lib/check/target.ts";
import { serverPort, swappedPort, watchSwappedPort } from "../lib/check/byte_order.ts";
import { platformSentence } from "../lib/kinds/syscall_track.ts";
import { LogPaths } from "../lib/practice/logs.ts";
import { standingOf } from "../lib/practice/status.ts";
import type { AttemptRecord } from "../lib/practice/history.ts";
import { kitArgs, requires, ROOT, runKit, withTempDir } from "./_support.ts";
import { haveScript, TerminalSession } from "./_terminal.ts";
import { LibcListener } from "./fixtures/libc_listener.ts";

const cli = requires("run", "read", "write");
const linux = Deno.build.os === "linux";

Deno.test("swappedPort() swaps the two bytes of a port, as a missing htons does", () => {
  assert.equal(swappedPort(9000), 10275); // 0x2328 → 0x2823
  assert.equal(swappedPort(0x1234), 0x3412);
  assert.equal(swappedPort(swappedPort(47_123)), 47_123);
});

Deno.test("serverPort() picks a port whose swapped twin is another, unprivileged, free port", () => {
  for (let i = 0; i < 20; i++) {
    const port = serverPort();
    const twin = swappedPort(port);
    assert.notEqual(twin, port);
    assert.ok(twin >= 1024, `${port} swaps to ${twin}`);
    Deno.listen({ hostname: "127.0.0.1", port: twin }).close(); // free, or this throws
  }
});

Deno.test("LogPaths keeps a track's attempts in a folder of their own", () => {
  const logs = new LogPaths("/tmp/logs");
  assert.equal(logs.attempts({ slug: "01-echo-threaded" }), "/tmp/logs/01-echo-threaded");
  assert.equal(logs.attempts({ slug: "01-echo-threaded", track: "syscalls" }), "/tmp/logs/01-echo-threaded/syscalls");
  assert.equal(logs.mistakes({ slug: "01-echo-threaded" }), "/tmp/logs/01-echo-threaded.md");
});

Deno.test("standingOf() counts each track's attempts apart", () => {
  const kata = {
    number: 1,
    slug: "01-echo-threaded",
    title: "Echo",
    timeLimitMinutes: 30,
    repeatUntil: { text: "3 in a row", passesInARow: 3 },
  };
  const attempt = (started: string, result: "pass" | "fail", track?: string): AttemptRecord => ({
    kata: 1,
    started,
    durationMs: 60_000,
    result,
    failedStages: [],
    ...(track ? { track } : {}),
  });
  const attempts = [
    attempt("2026-01-01T10:00:00Z", "pass"),
    attempt("2026-01-02T10:00:00Z", "fail", "syscalls"),
    attempt("2026-01-03T10:00:00Z", "pass", "syscalls"),
    attempt("2026-01-04T10:00:00Z", "pass", "syscalls"),
  ];
  const deno = standingOf(kata, attempts, 0);
  const syscalls = standingOf(kata, attempts, 0, { track: "syscalls" });
  assert.deepEqual([deno.attempts, deno.passes, deno.streak], [1, 1, 1]);
  assert.deepEqual([syscalls.attempts, syscalls.passes, syscalls.streak], [3, 2, 2]);
});

/** A program that listens where a server without htons would: on the byte-swapped port. */
const SWAPPED_LISTENER = `const port = Number(Deno.args[0]);
const listener = Deno.listen({ hostname: "127.0.0.1", port: ((port & 0xff) << 8) | (port >> 8) });
console.log("listening");
for await (const conn of listener) conn.close();`;

Deno.test({
  name: `startTarget() says a server on the byte-swapped port forgot htons${cli.suffix}`,
  ignore: cli.ignore,
  fn: () =>
    withTempDir("netkata-htons-", async (dir) => {
      await Deno.writeTextFile(`${dir}/swapped.ts`, SWAPPED_LISTENER);
      const error = await startTarget({
        kind: "command",
        command: `${Deno.execPath()} run --allow-net ${dir}/swapped.ts {port}`,
      }).then(async (target) => await target.close(), (error) => error);
      assert.ok(error instanceof TargetError, `it was taken as started: ${error}`);
      assert.match(error.message, /listens on port (\d+), not (\d+): .*two bytes swapped.*htons\(port\)/);
      const [, twin, port] = /listens on port (\d+), not (\d+)/.exec(error.message)!;
      assert.equal(swappedPort(Number(port)), Number(twin));
    }),
});

const ffi = requires("ffi");

Deno.test({
  name: `watchSwappedPort() finds a server on the twin that resets the first connection${ffi.suffix}`,
  ignore: ffi.ignore || !linux,
  fn: async () => {
    const port = serverPort();
    using twinServer = new LibcListener(swappedPort(port));
    const twin = watchSwappedPort("127.0.0.1", port);
    // The watch's first connect is under way (Deno starts it at once); the
    // server resets it before the event loop sees the connection complete.
    twinServer.reset(twinServer.acceptNow(5_000));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const noticed = await Promise.race([
      twin.appeared.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 10_000)),
    ]);
    clearTimeout(timer);
    const found = await twin.stop();
    assert.ok(noticed, "the watch stopped looking after the reset");
    assert.equal(found, true);
  },
});

function cliTest(name: string, fn: (logs: string) => Promise<void>, needsLinux = false) {
  const suffix = cli.suffix || (needsLinux && !linux ? " [ignored: the syscall track is Linux's]" : "");
  Deno.test({
    name: `${name}${suffix}`,
    ignore: cli.ignore || (needsLinux && !linux),
    fn: () => withTempDir("netkata-logs-", fn),
  });
}

cliTest("kata:1 check --reference --track syscalls grades the FFI reference as its own process", async (logs) => {
  const run = await runKit("kata.ts", ["1", "check", "--reference", "--track", "syscalls"], logs);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Target: `.*--allow-ffi .*reference_syscalls\.ts --port \d+`/);
  assert.match(run.stdout, /All 9 stages passed\./);
}, true);

cliTest("kata:2 check --track syscalls --file says it is full trust before it runs the file", async (logs) => {
  const starter = `${ROOT}katas/02-echo-event-loop/starter_syscalls.ts`;
  const run = await runKit("kata.ts", ["2", "check", "--track", "syscalls", "--file", starter], logs);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stderr, /runs .*starter_syscalls\.ts with --allow-ffi, which Deno treats as full trust/);
  assert.match(run.stderr, /exited with status 1 before listening[\s\S]*Not written yet: listenOn/);
}, true);

cliTest("--track is refused where it means nothing, in one sentence each", async (logs) => {
  const cases: [string[], RegExp][] = [
    [["4", "check", "--reference", "--track", "syscalls"], /^Kata 4 has no syscall track/],
    [["1", "check", "--reference", "--track", "posix"], /^--track takes deno or syscalls, not "posix"/],
    [["1", "check", "--cmd", "./echo {port}", "--track", "syscalls"], /--cmd is graded the same on every track/],
    [["3", "check", "--reference", "--track", "syscalls"], /^Kata 3 grades a client.*, not --track$/m],
  ];
  for (const [args, message] of cases) {
    const run = await runKit("kata.ts", args, logs);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /^\s+at /m, "a stack trace");
  }
});

cliTest("kata:1 --help names the syscall track; kata:4 --help does not", async (logs) => {
  const one = await runKit("kata.ts", ["1", "--help"], logs);
  assert.match(one.stdout, /--track syscalls {5}the BSD-socket calls in libc through FFI/);
  const four = await runKit("kata.ts", ["4", "--help"], logs);
  assert.doesNotMatch(four.stdout, /--track/);
});

cliTest("deno task status shows the syscall track of katas 1 and 2 as rows of their own", async (logs) => {
  // Each attempt starts at its own time: records of the same start are one attempt, continued.
  const record = (kata: number, result: string, day: number, track?: string) =>
    JSON.stringify({ kata, started: `2026-01-0${day}T10:00:00Z`, durationMs: 60_000, result, failedStages: [], track });
  await Deno.writeTextFile(
    `${logs}/attempts.jsonl`,
    [
      record(1, "pass", 1),
      record(1, "pass", 2, "syscalls"),
      record(1, "fail", 3, "syscalls"),
      record(2, "pass", 4, "syscalls"),
    ]
      .join("\n") + "\n",
  );
  const run = await runKit("status.ts", ["--json"], logs);
  assert.equal(run.code, 0, run.stderr);
  const { standings, standard } = JSON.parse(run.stdout);
  const row = (kata: number, track?: string) =>
    standings.find((s: { kata: { number: number }; track?: string }) => s.kata.number === kata && s.track === track);
  assert.deepEqual([row(1).attempts, row(1).passes], [1, 1]);
  assert.deepEqual([row(1, "syscalls").attempts, row(1, "syscalls").passes], [2, 1]);
  assert.deepEqual([row(2).attempts, row(2, "syscalls").attempts], [0, 1]);
  assert.equal(row(4, "syscalls"), undefined);
  assert.equal(standard.at(-1).detail.match(/Kata \d:/g)?.length, 6, "a track is not a kata of its own");
  const text = await runKit("status.ts", [], logs);
  assert.match(text.stdout, /Concurrent echo server \(one worker per connection\) \(syscalls track\)/);
});

cliTest("kata:1 run --track syscalls serves on the port asked, and stops on SIGINT", async (logs) => {
  const port = serverPort();
  const child = new Deno.Command(Deno.execPath(), {
    args: kitArgs("kata.ts", ["1", "run", "--track", "syscalls", "--port", String(port)], logs),
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  let said = "";
  while (!said.includes("Try it:")) {
    const { value, done } = await stdout.read();
    if (done) assert.fail(`run ended before it listened: ${said}${await stderr}`);
    said += value;
  }
  assert.match(said, new RegExp(`listening on 127\\.0\\.0\\.1:${port}`));
  {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("ping"));
    const echo = new Uint8Array(4);
    let filled = 0;
    while (filled < 4) filled += (await conn.read(echo.subarray(filled))) ?? assert.fail("closed early");
    assert.equal(new TextDecoder().decode(echo), "ping");
  }
  child.kill("SIGINT");
  const status = await child.status;
  await stdout.cancel();
  await stderr;
  assert.equal(status.code, 0);
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }), Deno.errors.ConnectionRefused);
}, true);

Deno.test({
  name: `practice --track syscalls: the attempt starts from the syscall starter and is recorded with its track${
    cli.suffix || (haveScript ? "" : " [ignored: needs Linux and util-linux script]")
  }`,
  ignore: cli.ignore || !haveScript,
  fn: () =>
    withTempDir("netkata-session-", async (logs) => {
      await using session = new TerminalSession(kitArgs("kata.ts", ["2", "--track", "syscalls"], logs), ROOT);
      await session.waitFor(/with --allow-ffi, which Deno treats as full trust/);
      const [, attempt] = await session.waitFor(/Your fresh attempt: (\S+\/syscalls\/attempt-001\.ts)/);
      await session.waitFor(/left · save to check/);
      assert.match(await Deno.readTextFile(attempt), /epoll_create1/, "a copy of the syscall starter");
      await Deno.copyFile(`${ROOT}katas/02-echo-event-loop/reference_syscalls.ts`, attempt);
      await session.waitFor(/All \d+ core stages passed\./, 60_000);
      await session.waitFor(/One mistake you made this time/);
      await session.type("forgot htons\r");
      await session.waitFor(/Logged in /);
      const record = JSON.parse((await Deno.readTextFile(`${logs}/attempts.jsonl`)).trim());
      assert.equal(record.track, "syscalls");
      assert.equal(record.result, "pass");
      assert.equal(record.file, "02-echo-event-loop/syscalls/attempt-001.ts");
    }),
});

Deno.test("platformSentence() says in one sentence why the syscall track does not run on Windows or macOS", () => {
  assert.match(
    platformSentence("windows"),
    /^The syscall track calls a BSD-socket libc, which Windows does not have: [^.]*$/,
  );
  assert.match(platformSentence("darwin"), /on darwin, kqueue is the twin/);
});
