/**
 * The command line as a learner meets it: `tasks/kata.ts` and
 * `tasks/status.ts` spawned as real processes, checked by exit status and
 * output. Bad input must give one clear sentence, never a stack trace.
 */

import assert from "node:assert/strict";
import { type KitRun, requires, runKit, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");

/** Our own output has no stack trace; lines quoted from the program under test (`    | …`) may. */
function assertNoStackTrace(run: KitRun) {
  const own = (run.stderr + run.stdout).split("\n").filter((line) => !/^\s*\| /.test(line)).join("\n");
  assert.doesNotMatch(own, /^\s+at .*:\d+:\d+/m, "printed a stack trace");
  assert.doesNotMatch(own, /Uncaught|error: /, "printed an uncaught error");
}

function cliTest(name: string, fn: (logs: string) => Promise<void>) {
  Deno.test({
    name: `${name}${needs.suffix}`,
    ignore: needs.ignore,
    fn: () => withTempDir("netkata-logs-", fn),
  });
}

cliTest(
  "kata:1 check --reference passes every stage and exits 0",
  async (logs) => {
    const run = await runKit("kata.ts", ["1", "check", "--reference"], logs);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /All 9 stages passed\./);
    assert.doesNotMatch(run.stdout, /FAIL/);
  },
);

cliTest(
  "kata:2 check --file starter --json reports the failing stage and exits 1",
  async (logs) => {
    const run = await runKit("kata.ts", [
      "2",
      "check",
      "--file",
      "katas/02-echo-event-loop/starter.ts",
      "--json",
    ], logs);
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.passed, false);
    assert.equal(report.stages[0].status, "fail");
    assert.equal(report.stages[0].name, "echoes a single byte");
    assert.equal(report.stages.at(-1).status, "skip");
  },
);

cliTest(
  "kata:1 check --file runs an attempt with network access to one port only",
  async (logs) => {
    const attempt = `${logs}/greedy.ts`;
    await Deno.writeTextFile(
      attempt,
      `Deno.listen({ hostname: "0.0.0.0", port: 9 });\n`,
    );
    const run = await runKit("kata.ts", ["1", "check", "--file", attempt], logs);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /exited with status 1 before listening/);
    assert.match(
      run.stderr,
      /lets an attempt use 127\.0\.0\.1:\d+ and nothing else/,
    );
    assertNoStackTrace(run);
  },
);

cliTest(
  "kata:1 check --cmd grades any program and explains a server that died",
  async (logs) => {
    const run = await runKit("kata.ts", [
      "1",
      "check",
      "--cmd",
      `${Deno.execPath()} run --allow-net tests/fixtures/broken_echo.ts dies-on-reset {port}`,
    ], logs);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /FAIL {2}a client that resets mid-stream does not take the server down/,
    );
    assert.match(run.stdout, /the server process exited with status 1/);
    assertNoStackTrace(run);
  },
);

const USAGE_ERRORS: [string[], RegExp][] = [
  [["1", "check", "--bogus"], /^Unknown option '--bogus'/],
  [["1", "check"], /^Say what to check/],
  [
    ["1", "check", "--reference", "--port", "9"],
    /^Give exactly one target, not --reference and --port/,
  ],
  [["1", "check", "--port", "70000"], /^--port takes a number from 1 to 65535/],
  [["1", "check", "--host", "::1", "--reference"], /^--host goes with --port/],
  [["7"], /^There is no kata 7/],
  [["1", "dance"], /^Unknown command: dance/],
  [["1", "log"], /^Say what the mistake was/],
];

for (const [args, message] of USAGE_ERRORS) {
  cliTest(
    `kata.ts ${args.join(" ")} exits 2 with one clear sentence`,
    async (logs) => {
      const run = await runKit("kata.ts", args, logs);
      assert.equal(run.code, 2);
      assert.match(run.stderr, message);
      assert.match(
        run.stderr,
        /Run `deno task kata:\S+ --help` for the options\./,
      );
      assertNoStackTrace(run);
    },
  );
}

cliTest(
  "kata:1 check --port with nothing listening says so and exits 1",
  async (logs) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const run = await runKit(
      "kata.ts",
      ["1", "check", "--port", String(port)],
      logs,
    );
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^Nothing is listening on 127\.0\.0\.1:\d+: start your server first/,
    );
    assertNoStackTrace(run);
  },
);

cliTest("kata:1 run refuses a port in use with one sentence", async (logs) => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const run = await runKit("kata.ts", ["1", "run", "--port", String(port)], logs);
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr.trim(),
    `Port ${port} is already in use: stop whatever listens there, or pass --port`,
  );
});

cliTest(
  "kata:1 without a terminal prints the card and how to check, and does not wait",
  async (logs) => {
    const run = await runKit("kata.ts", ["1"], logs);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^# Kata 1 · Concurrent echo server/);
    assert.match(run.stdout, /deno task kata:1 check --file /);
    assert.deepEqual(
      [...Deno.readDirSync(logs)],
      [],
      "made an attempt nobody can work on",
    );
  },
);

cliTest(
  "kata:N log feeds the card's watch-out list and the status board",
  async (logs) => {
    for (
      const mistake of [
        "forgot htons",
        "awaited the worker",
        "no setNoDelay",
        "echoed the whole buffer",
      ]
    ) {
      assert.equal(
        (await runKit("kata.ts", ["1", "log", mistake], logs)).code,
        0,
      );
    }
    const card = await runKit("kata.ts", ["1", "card"], logs);
    const watchOut = card.stdout.split("## Watch out for (your own last mistakes)\n")[1];
    assert.equal(
      watchOut.trim(),
      "- awaited the worker\n- no setNoDelay\n- echoed the whole buffer",
    );

    await Deno.writeTextFile(
      `${logs}/attempts.jsonl`,
      JSON.stringify({
        kata: 1,
        started: "2026-11-27T00:00:00Z",
        durationMs: 754_000,
        result: "pass",
        failedStages: [],
      }) +
        "\nnot json\n",
    );
    const status = await runKit("status.ts", [], logs);
    assert.equal(status.code, 0, status.stderr);
    assert.match(
      status.stdout,
      /^1 +Concurrent echo server .* 1 +1 +12:34 +pass 12:34 +30:00 +4 +✗ 1\/3 +– +due .+$/m,
    );
    assert.match(status.stdout, /Kata 1: 4 logged, Kata 2: none yet/);
    assert.match(status.stdout, /Skipped 1 damaged line\(s\) .* \(line 2\)/);
  },
);

cliTest(
  "kata:6 without a terminal prints the card and how to run the experiment",
  async (logs) => {
    const run = await runKit("kata.ts", ["6"], logs);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^# Kata 6 · TCP vs UDP under packet loss/);
    assert.match(run.stdout, /deno task kata:6 run/);
  },
);

cliTest("kata:6 rejects a bad loss list, rate or tool with one sentence", async (logs) => {
  for (
    const [args, message] of [
      [["--loss", "0,abc"], /^--loss takes per cents from 0 to 100/],
      [["--udp-rate", "fast"], /^--udp-rate takes an iperf3 rate such as 100M/],
      [["--tool", "ping"], /^--tool is iperf3 or deno/],
      [["--port", "9"], /^Kata 6 runs an experiment; --port does not apply/],
    ] as const
  ) {
    const run = await runKit("kata.ts", ["6", "run", ...args], logs);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, message);
    assertNoStackTrace(run);
  }
});

cliTest(
  "kata:3 check --file grades a Deno client with loopback-only network access",
  async (logs) => {
    const run = await runKit("kata.ts", [
      "3",
      "check",
      "--file",
      "katas/03-http-client/reference.ts",
      "--json",
    ], logs);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.passed, true);
    assert.equal(report.stages.length, 18);
  },
);

cliTest(
  "kata:3 check refuses server targets with one sentence",
  async (logs) => {
    const run = await runKit("kata.ts", ["3", "check", "--port", "8080"], logs);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /^Kata 3 grades a client, which the checker runs itself/,
    );
    assertNoStackTrace(run);
  },
);

cliTest("kata:3 check --cmd needs {url} in the command: a usage error, exit 2", async (logs) => {
  const run = await runKit("kata.ts", ["3", "check", "--cmd", "./client"], logs);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /put \{url\} in it/);
});
