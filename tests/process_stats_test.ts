/**
 * The process measurements the idle-CPU stage rests on, on processes whose
 * threads come and go: a busy loop must read busy however its other threads
 * live and die, and a child is found whichever thread started it.
 */

import assert from "node:assert/strict";
import { busyShare, childrenOf } from "../lib/tools/process_stats.ts";
import { hasProgram, isRoot, requires } from "./_support.ts";

const needs = requires("run", "read");
const linux = Deno.build.os === "linux";
const FIXTURE = decodeURIComponent(new URL("./fixtures/busy_threads.ts", import.meta.url).pathname);

/** The fixture in `mode`, once it printed its "ready" line (returned). */
async function startFixture(mode: string): Promise<{ process: Deno.ChildProcess; ready: string } & AsyncDisposable> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-run", "--allow-read", FIXTURE, mode],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  while (!said.includes("\n")) {
    const { value, done } = await lines.read();
    if (done) break;
    said += value;
  }
  lines.releaseLock();
  return {
    process,
    ready: said.trim(),
    async [Symbol.asyncDispose]() {
      process.kill("SIGKILL");
      await process.status;
      await process.stdout.cancel().catch(() => {});
    },
  };
}

Deno.test({
  name: `busyShare() reads a busy loop as busy while threads that burned CPU end beside it${
    needs.suffix || (linux ? "" : " [ignored: reads Linux's /proc]")
  }`,
  ignore: needs.ignore || !linux,
  async fn() {
    await using fixture = await startFixture("spin-with-churn");
    assert.equal(fixture.ready, "ready");
    // Several windows: each may or may not see a burner end inside it.
    for (let window = 0; window < 4; window++) {
      const busy = await busyShare(fixture.process.pid, 500);
      assert.ok(busy !== undefined, "cannot read the fixture's threads");
      assert.ok(busy.share > 0.5, `a spinning main thread read as ${Math.round(busy.share * 100)}% busy`);
    }
  },
});

Deno.test({
  name: `childrenOf() finds a child that a thread other than the main one started${
    needs.suffix || (linux ? "" : " [ignored: reads Linux's /proc]")
  }`,
  ignore: needs.ignore || !linux,
  async fn() {
    await using fixture = await startFixture("child-from-thread");
    const child = Number(fixture.ready.split(" ")[1]);
    assert.ok(child > 0, fixture.ready);
    assert.deepEqual(await childrenOf(fixture.process.pid), [child]);
  },
});

Deno.test({
  name: `busyShare() reads a sleeping process as idle${
    needs.suffix || (linux ? "" : " [ignored: reads Linux's /proc]")
  }`,
  ignore: needs.ignore || !linux,
  async fn() {
    const sleeper = new Deno.Command("sleep", { args: ["30"], stdin: "null" }).spawn();
    try {
      const busy = await busyShare(sleeper.pid, 250);
      assert.ok(busy !== undefined);
      assert.ok(busy.share < 0.05, `sleep read as ${Math.round(busy.share * 100)}% busy`);
    } finally {
      sleeper.kill("SIGKILL");
      await sleeper.status;
    }
  },
});

const twoCores = navigator.hardwareConcurrency >= 2;
const pinsAndRaises = isRoot() && twoCores && await hasProgram("taskset", ["--version"]) &&
  await hasProgram("chrt", ["--version"]);

Deno.test({
  name: `busyShare() reads a busy loop as busy when it waits for a core the whole window${
    needs.suffix ||
    (linux && pinsAndRaises ? "" : " [ignored: needs Linux, root, two cores, taskset and chrt]")
  }`,
  ignore: needs.ignore || !linux || !pinsAndRaises,
  async fn() {
    // The kernel credits time spent waiting for a core only when the thread
    // gets one: a busy loop kept off its core for the whole window showed no
    // time at all. Here a real-time loop holds core 0 for 600 ms while the
    // busy loop, pinned there, waits; the test runs on the other core.
    const spinner = new Deno.Command("taskset", {
      args: ["-c", "0", "sh", "-c", "while :; do :; done"],
      stdin: "null",
    }).spawn();
    let hog: Deno.ChildProcess | undefined;
    try {
      hog = new Deno.Command("taskset", {
        // It ends itself: a timer process at the same real-time priority
        // on that core would never get to run to stop it.
        args: [
          "-c",
          "0",
          "chrt",
          "-f",
          "1",
          "sh",
          "-c",
          'end=$(($(date +%s%N) + 600000000)); while [ "$(date +%s%N)" -lt "$end" ]; do :; done',
        ],
        stdin: "null",
      }).spawn();
      const busy = await busyShare(spinner.pid, 250);
      assert.ok(busy !== undefined, "cannot read the spinner's threads");
      assert.ok(busy.share > 0.5, `a busy loop waiting for its core read as ${Math.round(busy.share * 100)}% busy`);
    } finally {
      spinner.kill("SIGKILL");
      await spinner.status;
      await hog?.status;
    }
  },
});
