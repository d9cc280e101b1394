/**
 * Nothing left running: whatever a target started (a `--cmd` that forks, a
 * `--file` attempt) stops when the target is closed, when a client run
 * ends, and when the kit itself is sent SIGINT or SIGTERM. Processes are
 * found by PID from what this test started, through /proc.
 */

import assert from "node:assert/strict";
import { clientUnderTest } from "../lib/check/client.ts";
import { startTarget } from "../lib/check/target.ts";
import { kitArgs, requires, ROOT, withTempDir } from "./_support.ts";
import {
  canSeeProcesses,
  findDescendant,
  isRunning,
  killLeftovers,
  type ProcessRef,
  processRef,
  stillRunningAfter,
  waitForProcess,
} from "./_processes.ts";

const needs = requires("run", "read", "write");
const seeProcesses = !needs.ignore && canSeeProcesses;

function treeTest(name: string, fn: (dir: string) => Promise<void>) {
  Deno.test({
    name: `${name}${needs.suffix || (seeProcesses ? "" : " [ignored: needs Linux and ps]")}`,
    ignore: needs.ignore || !seeProcesses,
    fn: () => withTempDir("netkata-tree-", fn),
  });
}

/** Whether `promise` settles within `ms`: a test that would otherwise hang fails instead. */
async function settlesWithin(promise: Promise<unknown>, ms = 20_000): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The PID a shell wrote to `path`, as a live process. */
async function pidFrom(path: string): Promise<ProcessRef> {
  const pid = Number((await Deno.readTextFile(path)).trim());
  const process = await processRef(pid);
  assert.ok(process, `process ${pid} from ${path} is already gone`);
  return process;
}

treeTest(
  "startTarget() --cmd: close() stops the processes the command started, not only the command",
  async (dir) => {
    // The shell starts a background sleep, then becomes the echo server.
    const server = `${Deno.execPath()} run --allow-net ${ROOT}katas/01-echo-threaded/reference.ts --port`;
    const target = await startTarget({
      kind: "command",
      command: `sh -c 'sleep 1000 & echo $! > "$1"; exec ${server} "$0"' {port} ${dir}/sleep.pid`,
    });
    const sleeper = await pidFrom(`${dir}/sleep.pid`);
    try {
      assert.ok(await isRunning(sleeper));
      // The sleep holds the server's output pipes: a close() that stops the
      // server alone also waits for ever for the end of its output.
      assert.ok(await settlesWithin(target.close()), "close() did not return");
      assert.deepEqual(await stillRunningAfter([sleeper]), [], "the background sleep outlived the target");
    } finally {
      await killLeftovers([sleeper]);
      await target.close();
    }
  },
);

treeTest(
  "a --cmd client run ends when the client exits, and stops what it left running",
  async (dir) => {
    // A client that leaves a child behind holding its stdout: waiting for
    // the end of its output alone would wait for ever.
    const client = clientUnderTest({
      kind: "command",
      command: `sh -c 'sleep 1000 & echo $! > "$1"; echo done' {url} ${dir}/sleep.pid`,
    });
    const running = client.run("http://localhost:9/", 9, 5_000);
    try {
      assert.ok(await settlesWithin(running), "the run did not end when the client exited");
      const result = await running;
      assert.equal(result.code, 0);
      assert.equal(new TextDecoder().decode(result.stdout), "done\n");
      const sleeper = await pidFrom(`${dir}/sleep.pid`).catch(() => undefined);
      if (sleeper) assert.deepEqual(await stillRunningAfter([sleeper]), [], "the client's child outlived it");
    } finally {
      const left = await processRef(Number(await Deno.readTextFile(`${dir}/sleep.pid`).catch(() => "0")));
      if (left) await killLeftovers([left]);
      await running;
    }
  },
);

/** An attempt that listens and never answers: the first stage waits on it for seconds. */
const SILENT_SERVER = `const port = Number(Deno.args[Deno.args.indexOf("--port") + 1]);
const held: Deno.Conn[] = [];
for await (const conn of Deno.listen({ hostname: "127.0.0.1", port })) held.push(conn);
`;

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  treeTest(
    `kata:1 check --file: ${signal} sent to the kit alone stops the attempt too, and the kit exits 130`,
    async (dir) => {
      const attempt = `${dir}/silent.ts`;
      await Deno.writeTextFile(attempt, SILENT_SERVER);
      const kit = new Deno.Command(Deno.execPath(), {
        args: kitArgs("kata.ts", ["1", "check", "--file", attempt], dir),
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      const stderr = new Response(kit.stderr).text();
      const stdout = kit.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let running: ProcessRef | undefined;
      try {
        // The heading is printed once the attempt listens; the stage then waits.
        let screen = "";
        while (!screen.includes("Target: ")) {
          const { value, done } = await stdout.read();
          if (done) assert.fail(`the kit ended before checking:\n${screen}\n${await stderr}`);
          screen += value;
        }
        running = await waitForProcess(
          () => findDescendant(kit.pid, (args) => args.includes(` run `) && args.includes(attempt)),
          "attempt process",
        );
        assert.ok(await isRunning(running));
        Deno.kill(kit.pid, signal);
        const status = await kit.status;
        assert.equal(status.code, 130, `the kit ended with ${JSON.stringify(status)}: ${await stderr}`);
        assert.deepEqual(await stillRunningAfter([running]), [], "the attempt outlived the kit");
      } finally {
        await stdout.cancel().catch(() => {});
        try {
          kit.kill("SIGKILL");
        } catch {
          // It exited.
        }
        await kit.status;
        await stderr;
        if (running) await killLeftovers([running]);
      }
    },
  );
}
