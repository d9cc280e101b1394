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
        /^rm is not one of the tools netkata runs \(tcpdump, tshark, iperf3, curl, nc, ip, nft, deno, tc, cc, wrk, nginx, taskset\)/,
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
    const tool = spawnTool("nc", ["-l", "-v", "256.0.0.1", "1"]);
    await assert.rejects(tool.waitForOutput(/Listening on/, 5_000), ToolError);
    await tool.stop();
  },
});
