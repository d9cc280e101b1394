/**
 * What the echo stages show beyond pass and fail: the evidence of lost
 * bytes, and where Kata 2's extra stage sits. (References, starters and
 * broken servers are graded by the catalog self-test.)
 */

import assert from "node:assert/strict";
import { stages as concurrentStages } from "../katas/01-echo-threaded/check.ts";
import { stages as eventLoopStages } from "../katas/02-echo-event-loop/check.ts";
import { startServer as startThreaded } from "../katas/01-echo-threaded/reference.ts";
import { startServer as startEventLoop } from "../katas/02-echo-event-loop/reference.ts";
import { runCheck, serverSubject } from "../lib/check/run.ts";
import type { StartServer } from "../lib/check/target.ts";
import type { Stage } from "../lib/check/stage.ts";
import { writeAll } from "../lib/net/io.ts";
import { lateReader, slowReader, stillAnswers, survivesReset } from "../lib/stages/echo.ts";
import { tenThousandIdle } from "../lib/stages/echo_c10k.ts";
import { idleCpu, quietClient } from "../lib/stages/echo_idle.ts";
import { requires } from "./_support.ts";
import { startBrokenServer } from "./fixtures/broken_echo.ts";

Deno.test("kata 1 checker reports lost bytes with the offset and a caret", async () => {
  const report = await runCheck(
    { number: 1, title: "Concurrent echo server", stages: concurrentStages },
    await serverSubject({
      kind: "module",
      label: "under test",
      start: (options) => startBrokenServer("ignores-partial-writes", options),
    }),
  );
  const failed = report.stages.find((stage) => stage.status === "fail");
  const details = failed?.details ?? "";
  assert.match(details, /^first difference at byte \d+ of 8388608 expected/);
  assert.match(details, /\n\s+\^$/);
});

Deno.test("kata 2 checker adds the quiet-client, slow-reader and idle-CPU stages, runs the stages that wait after the fast ones, and C10K as stretch", () => {
  const names = eventLoopStages.map((stage) => stage.name);
  const core = eventLoopStages.filter((stage) => (stage.level ?? "core") === "core").map((stage) => stage.name);
  assert.deepEqual(
    names.filter((name) => !concurrentStages.some((s) => s.name === name)),
    [quietClient.name, slowReader.name, idleCpu.name, tenThousandIdle.name],
  );
  // The stages that wait (for a buffer to back up, a server to crash, an idle
  // window) come after every stage that a passing server answers at once, so
  // a fast stage's failure is shown without waiting for them; the server
  // must still answer at the very end.
  const waiting = [lateReader.name, slowReader.name, survivesReset.name, idleCpu.name];
  assert.deepEqual(core.slice(-waiting.length - 1), [...waiting, stillAnswers.name]);
  assert.deepEqual(eventLoopStages.filter((stage) => stage.level === "stretch"), [eventLoopStages.at(-1)]);
  assert.ok(concurrentStages.every((stage) => (stage.level ?? "core") === "core"));
});

/** The stage's result on a server started in-process. */
async function gradeOne(stage: Stage, start: StartServer) {
  const report = await runCheck(
    { number: 2, title: "one stage", stages: [stage] },
    await serverSubject({ kind: "module", label: "under test", start }),
  );
  return report.stages[0];
}

/**
 * An echo server with no bound on what it holds: each connection's reader
 * queues everything it reads, and a writer of its own drains the queue. It
 * never stops reading a client that does not read (no high-water mark), so
 * a client's whole message may end up in its queue. Correct, if greedy.
 */
function startUnboundedServer({ hostname, port }: { hostname: string; port: number }) {
  const listener = Deno.listen({ hostname, port });
  const open = new Set<Deno.TcpConn>();
  const serve = async (conn: Deno.TcpConn) => {
    const queue: Uint8Array[] = [];
    let wake = () => {};
    let ended = false;
    const writing = (async () => {
      while (true) {
        const chunk = queue.shift();
        if (chunk) await writeAll(conn, chunk);
        else if (ended) return;
        else await new Promise<void>((resolve) => wake = resolve);
      }
    })();
    try {
      while (true) {
        const buffer = new Uint8Array(64 * 1024);
        const n = await conn.read(buffer);
        if (n === null) break;
        queue.push(buffer.subarray(0, n));
        wake();
      }
      ended = true;
      wake();
      await writing;
    } finally {
      open.delete(conn);
      conn.close();
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      open.add(conn);
      serve(conn).catch(() => {});
    }
  })();
  return {
    addr: listener.addr as Deno.NetAddr,
    async close() {
      listener.close();
      for (const conn of open) conn.close();
      await accepting.catch(() => {});
    },
  };
}

const BACKED_UP = /backed up after \d+\.\d MiB sent unread/;

Deno.test("slow-reader stage: the event loop reference passes once it is shown to hold the slow client's echo back", async () => {
  const result = await gradeOne(slowReader, startEventLoop);
  assert.equal(result.status, "pass", result.message);
  assert.match(result.message ?? "", BACKED_UP);
});

Deno.test("slow-reader stage: a task per connection (the Kata 1 reference) passes too: the stage is about not stalling", async () => {
  const result = await gradeOne(slowReader, startThreaded);
  assert.equal(result.status, "pass", result.message);
  assert.match(result.message ?? "", BACKED_UP);
});

Deno.test("slow-reader stage: a server that takes the whole 16 MiB into its buffer is backed up once it has it all", async () => {
  const result = await gradeOne(slowReader, startUnboundedServer);
  assert.equal(result.status, "pass", result.message);
  assert.match(result.message ?? "", /backed up after 16\.0 MiB sent unread/);
});

Deno.test("slow-reader stage: a loop that waits on its write to the slow client fails, naming the client kept waiting", async () => {
  const result = await gradeOne(slowReader, (options) => startBrokenServer("blocking-loop", options));
  assert.equal(result.status, "fail");
  assert.match(
    result.message ?? "",
    /^(A client|Client \d+ of 20) waited over 1 s for a 1 KiB echo while another client was not reading$/,
  );
  assert.match(result.hint ?? "", /high-water mark/);
});

Deno.test("late-reader stage reads once the server holds the echo back, or after 300 ms when it answers nobody else meanwhile", async () => {
  const threaded = await gradeOne(lateReader, startThreaded);
  assert.equal(threaded.status, "pass", threaded.message);
  assert.match(threaded.message ?? "", /^read once the server held the echo back \(\d+\.\d MiB sent unread\)$/);
  const oneAtATime = await gradeOne(lateReader, (options) => startBrokenServer("one-at-a-time", options));
  assert.equal(oneAtATime.status, "pass", oneAtATime.message);
  assert.match(oneAtATime.message ?? "", /^read after 300 ms \(\d+\.\d MiB sent unread\)$/);
});

const runs = requires("run");

/** The idle-CPU stage alone, on the Deno file at `path` (relative to this folder) started as `… {port}`. */
async function idleCpuOn(path: string, portArgs: string) {
  const file = decodeURIComponent(new URL(path, import.meta.url).pathname);
  const report = await runCheck(
    { number: 2, title: "one stage", stages: [idleCpu] },
    await serverSubject({ kind: "command", command: `${Deno.execPath()} run --allow-net ${file} ${portArgs}` }),
  );
  return report.stages[0];
}

Deno.test({
  name: `idle-CPU stage measures a server whose echo was shown to back up${runs.suffix}`,
  ignore: runs.ignore,
  async fn() {
    const result = await idleCpuOn("../katas/02-echo-event-loop/reference.ts", "--port {port}");
    assert.equal(result.status, "pass", result.message);
    assert.match(
      result.message ?? "",
      /^busy \(running, or ready to run\) \d+% of 0\.\d+ s while its client sat idle, after an echo that backed up/,
    );
  },
});

Deno.test({
  name: `idle-CPU stage takes one burst of work after the big echo for what it is, not a busy loop${runs.suffix}`,
  ignore: runs.ignore,
  async fn() {
    const result = await idleCpuOn("./fixtures/echo_then_burst.ts", "{port}");
    assert.equal(result.status, "pass", result.message);
  },
});

Deno.test({
  name: `idle-CPU stage counts the processes a --cmd starts: a wrapper that sits idle hides no busy loop${
    requires("run", "ffi").suffix
  }`,
  ignore: requires("run", "ffi").ignore || Deno.build.os !== "linux",
  async fn() {
    // `sh -c '…; true'` stays the parent, as `cargo run`, `make run` or `npm start` do.
    const broken = decodeURIComponent(new URL("./fixtures/broken_syscalls.ts", import.meta.url).pathname);
    const report = await runCheck(
      { number: 2, title: "one stage", stages: [idleCpu] },
      await serverSubject({
        kind: "command",
        command: `sh -c '${Deno.execPath()} run --allow-ffi ${broken} epollout-left-registered --port {port}; true'`,
      }),
    );
    const [result] = report.stages;
    assert.equal(result.status, "fail", result.message);
    assert.match(result.hint ?? "", /EPOLLOUT left registered/);
  },
});
