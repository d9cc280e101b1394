/**
 * The idle-CPU stage catches a busy loop on a busy machine too. A spinning
 * server that gets little of a core, because other work outranks it, used
 * to pass: it was judged by the CPU time it got, not by how much it wanted.
 * Here the server runs at the lowest priority (nice 19, and its session's
 * autogroup too, where the kernel groups by session), and once its echo has
 * backed up and drained, one busy loop per core runs at the normal priority
 * while the stage watches it. (With the load from the start, a server that
 * gets so little CPU may never fill its socket and never make the mistake
 * the stage looks for.)
 */

import assert from "node:assert/strict";
import { runCheck, serverSubject } from "../lib/check/run.ts";
import { type Stage, StageFailure } from "../lib/check/stage.ts";
import { backUpAndDrain, idleCpu, watchIdle } from "../lib/stages/echo_idle.ts";
import { requires } from "./_support.ts";

const needs = requires("run", "read", "ffi");
const BROKEN = decodeURIComponent(new URL("./fixtures/broken_syscalls.ts", import.meta.url).pathname);
const fromKata = (file: string) =>
  decodeURIComponent(new URL(`../katas/02-echo-event-loop/${file}`, import.meta.url).pathname);
/** As many as the machine has cores: every core has a busy loop that outranks the server. */
const CORES = navigator.hardwareConcurrency;

/** One busy loop per core, at the normal priority: it outranks a server at nice 19. */
function outrankingLoad(): AsyncDisposable {
  const loops = Array.from({ length: CORES }, () =>
    new Deno.Command("sh", {
      args: ["-c", "while :; do :; done"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn());
  return {
    async [Symbol.asyncDispose]() {
      for (const loop of loops) loop.kill("SIGKILL");
      await Promise.all(loops.map((loop) => loop.status));
    },
  };
}

/** The idle-CPU stage, with the load on while it watches (only then: see above). */
const idleCpuWatchedUnderLoad: Stage = {
  name: idleCpu.name,
  async run(ctx) {
    const backlog = await backUpAndDrain(ctx);
    await using _load = outrankingLoad();
    const idle = await watchIdle(ctx.pid!);
    if (idle.busy) throw new StageFailure(`The server was ${idle.summary}`);
    return `${idle.summary}, after ${backlog}`;
  },
};

/** That stage on the Deno file started with `flag` and `args` at nice 19. */
async function idleCpuUnderLoad(file: string, flag: string, args: string) {
  const report = await runCheck(
    { number: 2, title: "one stage", stages: [idleCpuWatchedUnderLoad] },
    await serverSubject({
      kind: "command",
      // The checker starts the server in a session of its own, which the
      // kernel may schedule as a group (autogroup): lower the group too.
      command:
        `sh -c "echo 19 > /proc/self/autogroup 2>/dev/null; exec nice -n 19 '${Deno.execPath()}' run ${flag} '${file}' ${args}"`,
    }),
  );
  return report.stages[0];
}

const ignore = needs.ignore || Deno.build.os !== "linux";
const reason = needs.suffix || (Deno.build.os === "linux" ? "" : " [ignored: reads Linux's /proc]");

Deno.test({
  name: `idle-CPU stage fails a busy loop that other work keeps from the CPU${reason}`,
  ignore,
  async fn() {
    const result = await idleCpuUnderLoad(BROKEN, "--allow-ffi", "epollout-left-registered --port {port}");
    assert.equal(result.status, "fail", result.message);
    assert.match(result.message ?? "", /^The server was busy/);
  },
});

for (
  const [track, file, flag] of [["syscall", "reference_syscalls.ts", "--allow-ffi"], [
    "Deno.listen",
    "reference.ts",
    "--allow-net",
  ]]
) {
  Deno.test({
    name: `idle-CPU stage passes the ${track} reference on a machine whose cores are busy${reason}`,
    ignore,
    async fn() {
      const result = await idleCpuUnderLoad(fromKata(file), flag, "--port {port}");
      assert.equal(result.status, "pass", result.message);
    },
  });
}
