/**
 * The process measurements the idle-CPU stage rests on, on processes whose
 * threads come and go: a busy loop must read busy however its other threads
 * live and die, and a child is found whichever thread started it.
 */

import assert from "node:assert/strict";
import { busyShare, childrenOf } from "../lib/tools/process_stats.ts";
import { requires } from "./_support.ts";

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
