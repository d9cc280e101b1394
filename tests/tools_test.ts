/**
 * The tool runner: it refuses what is not in its registry, quotes its
 * transcript so it can be pasted, puts a time limit on every run, and says
 * clearly why a tool failed.
 */

import assert from "node:assert/strict";
import { isTool, TOOLS } from "../lib/tools/registry.ts";
import { runTool, shellQuote, spawnTool, ToolError, Transcript } from "../lib/tools/runner.ts";
import { hasProgram, requires } from "./_support.ts";

Deno.test("runTool() refuses a program outside the registry, even where Deno would allow it", async () => {
  await assert.rejects(
    runTool("rm", ["-rf", "/tmp/nothing"]),
    (error: ToolError) => {
      assert.equal(error.kind, "not-allowed");
      assert.match(
        error.message,
        /^rm is not one of the tools netkata runs \(tcpdump, tshark, iperf3, curl, nc, ip, nft, deno, nstat, tc, cc, ss, wrk, nginx, taskset\)/,
      );
      return true;
    },
  );
  assert.equal(isTool("tcpdump"), true);
  assert.equal(isTool("toString"), false);
});

Deno.test("every registry tool says how to install it on Debian, Fedora and macOS", () => {
  for (const [name, tool] of Object.entries(TOOLS)) {
    assert.ok(
      tool.install.debian && tool.install.fedora && tool.install.macos,
      name,
    );
  }
});

Deno.test("shellQuote() makes a transcript line that a shell reads back as the same arguments", () => {
  assert.equal(
    shellQuote([
      "tcpdump",
      "-i",
      "lo",
      "-w",
      "a b.pcap",
      "tcp port 12345",
      "it's",
    ]),
    `tcpdump -i lo -w 'a b.pcap' 'tcp port 12345' 'it'"'"'s'`,
  );
});

const run = requires("run");
const haveNc = await hasProgram("nc", ["-h"]);

Deno.test({
  name: `runTool() kills a tool that outlives its time limit and says so${run.suffix}`,
  ignore: run.ignore || !haveNc,
  fn: async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = String((listener.addr as Deno.NetAddr).port);
    listener.close();
    const transcript = new Transcript();
    const started = performance.now();
    await assert.rejects(
      runTool("nc", ["-l", "127.0.0.1", port], { timeoutMs: 300, transcript }),
      /^ToolError: \$ nc -l 127\.0\.0\.1 \d+ did not finish within 0\.3 s$/,
    );
    assert.ok(performance.now() - started < 5_000);
    assert.deepEqual(transcript.lines, [`$ nc -l 127.0.0.1 ${port}`]);
  },
});

Deno.test({
  name: `runTool() reports a tool's own error output when it fails${run.suffix}`,
  ignore: run.ignore || !haveNc,
  fn: async () => {
    await assert.rejects(
      runTool("nc", ["-z", "-w", "1", "127.0.0.1", "1"]),
      (error: ToolError) => {
        assert.equal(error.kind, "failed");
        assert.match(error.message, /^\$ nc -z -w 1 127\.0\.0\.1 1 failed: /);
        return true;
      },
    );
  },
});

Deno.test({
  name: `ToolProcess.waitForOutput() fails with the tool's words when it exits first${run.suffix}`,
  ignore: run.ignore || !haveNc,
  fn: async () => {
    const tool = spawnTool("nc", ["-l", "-v", "256.0.0.1", "1"], { lifetimeMs: 10_000 });
    await assert.rejects(tool.waitForOutput(/Listening on/, 5_000), ToolError);
    await tool.stop();
  },
});

const haveIperf = await hasProgram("iperf3", ["--version"]);

Deno.test({
  name: `spawnTool() ends a tool at its time limit even when the kit that started it was killed${run.suffix}`,
  ignore: run.ignore || !haveIperf || Deno.build.os !== "linux",
  fn: async () => {
    const root = decodeURIComponent(new URL("../", import.meta.url).pathname);
    const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (free.addr as Deno.NetAddr).port;
    free.close();
    // A kit that starts a server with a 1.5 s lifetime, then waits for it.
    // iperf3 -s waits for clients forever and never notices that nobody
    // reads its output any more: only a time limit can end it.
    const kit = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { spawnTool } from "${root}lib/tools/runner.ts";
const server = spawnTool("iperf3", ["-s", "-B", "127.0.0.1", "-p", "${port}", "--forceflush"], { lifetimeMs: 1_500 });
await server.waitForOutput(/Server listening/);
console.log(server.pid);
await server.finished;`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines = kit.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const pid = Number((await lines.read()).value);
    const started = performance.now();
    // A connection that stays open for as long as the server lives: it
    // waits for a cookie we never send.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      kit.kill("SIGKILL");
      assert.equal((await kit.status).signal, "SIGKILL");
      await lines.cancel();
      await kit.stderr.cancel();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const outcome = await Promise.race([
        conn.read(new Uint8Array(16)).catch(() => null).then(() => "ended"),
        new Promise((resolve) => timer = setTimeout(() => resolve("still running"), 15_000)),
      ]);
      clearTimeout(timer);
      assert.equal(outcome, "ended", "iperf3 -s outlived its killed parent by more than 15 s");
      // Not before its time: it was the limit that ended it.
      assert.ok(performance.now() - started > 1_000, "iperf3 -s ended before its time limit");
    } finally {
      conn.close();
      for (const target of [-pid, pid]) {
        try {
          Deno.kill(target, "SIGKILL");
        } catch {
          // Already gone, as it should be.
        }
      }
    }
  },
});

/** Where coreutils' timeout is, if it is where Linux distributions put it. */
async function findTimeout(): Promise<string | undefined> {
  if (Deno.permissions.querySync({ name: "read" }).state !== "granted") return undefined;
  for (const path of ["/usr/bin/timeout", "/bin/timeout"]) {
    try {
      await Deno.stat(path);
      return path;
    } catch {
      // Not there; try the next.
    }
  }
  return undefined;
}
const timeoutBinary = await findTimeout();

Deno.test({
  name: `runTool() says how to install a tool that is not there, time limit or not${
    requires("run", "read", "write").suffix
  }`,
  ignore: requires("run", "read", "write").ignore || timeoutBinary === undefined,
  fn: async () => {
    const root = decodeURIComponent(new URL("../", import.meta.url).pathname);
    // A PATH with coreutils' timeout on it and nothing else: nc is "not installed".
    const bin = await Deno.makeTempDir({ prefix: "netkata-path-" });
    try {
      await Deno.symlink(timeoutBinary!, `${bin}/timeout`);
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `import { runTool } from "${root}lib/tools/runner.ts";
try { await runTool("nc", ["-h"]); } catch (error) { console.log(error.kind, error.message); }`,
        ],
        env: { PATH: bin },
        clearEnv: true,
      }).output();
      assert.match(
        new TextDecoder().decode(output.stdout),
        /^missing nc is not installed \(needed to open a listener and a client by hand\): Debian\/Ubuntu: sudo apt-get install netcat-openbsd/,
      );
    } finally {
      await Deno.remove(bin, { recursive: true });
    }
  },
});

Deno.test({
  name: `runTool() stops the tool at once and throws the reason when its signal aborts${run.suffix}`,
  ignore: run.ignore,
  fn: async () => {
    const gone = new ToolError("deno", "failed", "The path to the server is gone");
    // A tool that would run until its time limit: only the abort can end it in time.
    const controller = new AbortController();
    const forever = runTool("deno", ["eval", "setInterval(() => {}, 1000)"], {
      signal: controller.signal,
      timeoutMs: 600_000,
    });
    controller.abort(gone);
    await assert.rejects(forever, (error) => error === gone);
    // Already aborted: nothing starts.
    const transcript = new Transcript();
    await assert.rejects(
      runTool("deno", ["eval", ""], { signal: controller.signal, transcript }),
      (error) => error === gone,
    );
    assert.deepEqual(transcript.lines, []);
  },
});
