/**
 * The C10K stage tells Kata 1's answers from Kata 2's: graded by Kata 2's
 * checker, a thread per connection (the C reference of Kata 1) and a task
 * with a 64 KiB buffer per connection (Kata 1's Deno reference, as a --file
 * attempt) pass every core stage and fail this stretch one, each for its
 * own reason; Kata 2's reference as a --file attempt passes it. (The
 * in-process references and the in-process broken server are graded by the
 * catalog self-test.)
 */

import assert from "node:assert/strict";
import { runCheck, serverSubject } from "../lib/check/run.ts";
import type { TargetSpec } from "../lib/check/target.ts";
import { tenThousandIdle } from "../lib/stages/echo_c10k.ts";
import { openFilesLimit, processStatus } from "../lib/tools/process_stats.ts";
import { listeningProcesses } from "../lib/tools/listeners.ts";
import { buildC } from "../lib/tools/build_c.ts";
import { stages as eventLoopStages } from "../katas/02-echo-event-loop/check.ts";
import { hasProgram, requires, withTempDir } from "./_support.ts";

const runs = requires("run");
const builds = requires("run", "read", "write");
const onLinux = Deno.build.os === "linux";
const notLinux = onLinux ? "" : " [ignored: needs Linux]";
const haveCc = !builds.ignore && await hasProgram("cc");
const KATA_1_C = new URL("../katas/01-echo-threaded/reference.c", import.meta.url);

const kata2 = { number: 2, title: "Event-driven echo server", stages: eventLoopStages };
const c10kOnly = { number: 2, title: "Event-driven echo server", stages: [tenThousandIdle] };

Deno.test({
  name: `listeningProcesses() names this process behind a port it listens on, and nobody behind a closed one${
    runs.suffix || notLinux
  }`,
  ignore: runs.ignore || !onLinux,
  fn: async () => {
    const port = await (async () => {
      using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      assert.deepEqual(await listeningProcesses(port), [Deno.pid]);
      return port;
    })();
    assert.deepEqual(await listeningProcesses(port), []);
  },
});

Deno.test({
  name: `processStatus() and openFilesLimit() read this process's threads, memory and descriptor limit${
    runs.suffix || notLinux
  }`,
  ignore: runs.ignore || !onLinux,
  fn: async () => {
    const status = await processStatus(Deno.pid);
    assert.ok(status && status.threads >= 1 && status.rss > 1024 * 1024, JSON.stringify(status));
    const limit = await openFilesLimit(Deno.pid);
    assert.ok(limit && limit.soft >= 1 && limit.soft <= limit.hard, JSON.stringify(limit));
    assert.equal(await processStatus(2 ** 22 + 1), undefined); // above any pid_max
  },
});

function stretchFailure(report: Awaited<ReturnType<typeof runCheck>>) {
  const failed = report.stages.find((stage) => stage.status === "fail");
  assert.ok(failed, "every stage passed");
  assert.equal(failed.name, tenThousandIdle.name, `${failed.name}: ${failed.message}`);
  assert.equal(failed.level, "stretch");
  return failed;
}

Deno.test({
  name: `Kata 1's C reference (a thread per connection) passes Kata 2's core and fails C10K on its thread count${
    builds.suffix || notLinux || (haveCc ? "" : " [ignored: no cc on PATH]")
  }`,
  ignore: builds.ignore || !onLinux || !haveCc,
  fn: () =>
    withTempDir("netkata-c10k-", async (out) => {
      const binary = await buildC(KATA_1_C, out);
      const report = await runCheck(kata2, await serverSubject({ kind: "command", command: `${binary} {port}` }));
      assert.equal(report.passed, true);
      assert.equal(report.core, "passed");
      assert.deepEqual(report.stretch, [{ name: tenThousandIdle.name, status: "fail" }]);
      const failed = stretchFailure(report);
      assert.match(failed.message!, /thread count grew from \d+ to \d+ with 1 000 idle connections/);
      assert.match(failed.hint!, /One thread per connection/);
    }),
});

const kataFile = (path: string): TargetSpec => ({
  kind: "deno-file",
  path: decodeURIComponent(new URL(path, import.meta.url).pathname),
});

Deno.test({
  name: `Kata 1's Deno reference as a --file attempt (a 64 KiB buffer per connection) fails C10K on memory${
    runs.suffix || notLinux
  }`,
  ignore: runs.ignore || !onLinux,
  fn: async () => {
    const report = await runCheck(c10kOnly, await serverSubject(kataFile("../katas/01-echo-threaded/reference.ts")));
    const failed = stretchFailure(report);
    assert.match(failed.message!, /grew by \d+\.\d KiB per idle connection \(resident, process \d+\)/);
    assert.match(failed.hint!, /640 MB/);
  },
});

Deno.test({
  name: `Kata 2's Deno reference as a --file attempt passes C10K, and says what it measured${runs.suffix || notLinux}`,
  ignore: runs.ignore || !onLinux,
  fn: async () => {
    const report = await runCheck(c10kOnly, await serverSubject(kataFile("../katas/02-echo-event-loop/reference.ts")));
    const [result] = report.stages;
    assert.equal(result.status, "pass", `${result.message}\n${result.details ?? ""}`);
    assert.match(result.message!, /a new client served in \d+\.\d ms/);
    assert.match(result.message!, /KiB per idle connection \(resident, process \d+\), threads (\d+) → \1/);
  },
});

Deno.test({
  name: "without --allow-run the C10K stage is skipped, and says why [runs under deno test --allow-net only]",
  ignore: !runs.ignore,
  fn: async () => {
    const report = await runCheck(
      c10kOnly,
      await serverSubject({
        kind: "module",
        label: "a server that is never reached",
        start: ({ hostname }) => {
          const listener = Deno.listen({ hostname, port: 0 });
          return {
            addr: listener.addr,
            close: () => Promise.resolve(listener.close()),
          };
        },
      }),
    );
    assert.equal(report.stages[0].status, "skip");
    assert.match(report.stages[0].message!, /needs --allow-run/);
    assert.equal(report.passed, true);
  },
});
