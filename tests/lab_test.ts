/**
 * Labs and the capture kata, for real: network namespaces, tcpdump and nc.
 * They need root and those tools, and are ignored (with the reason) where
 * either is missing.
 */

import assert from "node:assert/strict";
import { Lab } from "../lib/lab/lab.ts";
import { runTool } from "../lib/tools/runner.ts";
import { hasProgram, isRoot, kitArgs, requires, ROOT, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");
const ready = !needs.ignore && isRoot() && await hasProgram("ip", ["-V"]) &&
  await hasProgram("tcpdump", ["--version"]) &&
  await hasProgram("nc", ["-h"]);
const suffix = needs.suffix ||
  (ready ? "" : " [ignored: needs root, ip, tcpdump and nc]");

/** Whether namespace `name` exists: by its exact name, never by a pattern other runs' names may match. */
async function hasNamespace(name: string): Promise<boolean> {
  const { stdout } = await runTool("ip", ["netns", "list"]);
  return stdout.split("\n").some((line) => line.split(" ")[0] === name);
}

Deno.test({
  name: `Lab makes a namespace with loopback up, and removes it and its processes on dispose${suffix}`,
  ignore: !ready,
  fn: async () => {
    const lab = await Lab.create("test");
    assert.ok(await hasNamespace(lab.namespace!));
    const link = await lab.run("ip", ["-o", "link", "show", "lo"]);
    assert.match(link.stdout, /state UNKNOWN|UP/);
    const listener = lab.spawn("nc", ["-l", "-v", "127.0.0.1", "4000"], { lifetimeMs: 30_000 });
    await listener.waitForOutput(/Listening on/);
    await lab.dispose();
    await lab.dispose(); // twice is harmless
    assert.ok(!await hasNamespace(lab.namespace!));
    const status = await listener.finished;
    assert.notEqual(
      status.signal ?? status.code,
      0,
      "the listener was stopped",
    );
  },
});

Deno.test({
  name: `Ctrl-C in the middle of a lab leaves no namespace behind${suffix}`,
  ignore: !ready,
  fn: () =>
    withTempDir("netkata-lab-", async (dir) => {
      const script = `${dir}/lab.ts`;
      await Deno.writeTextFile(
        script,
        `import { Lab } from "${ROOT}lib/lab/lab.ts";
const lab = await Lab.create("interrupted");
const nc = lab.spawn("nc", ["-l", "-v", "127.0.0.1", "4001"], { lifetimeMs: 30_000 });
await nc.waitForOutput(/Listening on/);
console.log(lab.namespace);
await new Promise(() => {});
`,
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-run", "--allow-read", script],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream())
        .getReader();
      const { value: namespace } = await reader.read();
      assert.ok(await hasNamespace(namespace!.trim()));
      child.kill("SIGINT");
      const status = await child.status;
      await reader.cancel();
      assert.match(
        await new Response(child.stderr).text(),
        /Interrupted: stopping tools and removing labs/,
      );
      assert.equal(status.code, 130);
      assert.ok(!await hasNamespace(namespace!.trim()));
    }),
});

Deno.test({
  name: `kata:5 check --reference captures a whole conversation in a lab and passes${suffix}`,
  ignore: !ready,
  fn: () =>
    withTempDir("netkata-kata5-", async (logs) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: kitArgs("kata.ts", ["5", "check", "--reference", "--json"], logs),
        cwd: ROOT,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output = await child.output();
      const text = new TextDecoder().decode(output.stdout);
      assert.equal(
        output.code,
        0,
        text + new TextDecoder().decode(output.stderr),
      );
      const report = JSON.parse(text);
      assert.equal(report.passed, true);
      assert.deepEqual(
        report.packets.filter((p: { protocol: string }) => p.protocol === "TCP")
          .map((p: { label: string }) => p.label),
        [
          "SYN",
          "SYN-ACK",
          "ACK",
          "DATA",
          "ACK",
          "FIN",
          "FIN",
          "ACK",
        ],
      );
      // Its own lab is gone (other runs' labs may exist: not ours to judge).
      assert.ok(!await hasNamespace(`netkata-kata5-${child.pid}`));
    }),
});

Deno.test({
  name: `two kata:5 runs at the same moment keep both captures${suffix}`,
  ignore: !ready,
  fn: () =>
    withTempDir("netkata-kata5-", async (logs) => {
      // Captures are named by the second, and both start within the same one.
      const run = () =>
        new Deno.Command(Deno.execPath(), {
          args: kitArgs("kata.ts", ["5", "run"], logs),
          cwd: ROOT,
          env: { NO_COLOR: "1" },
        }).output();
      const outputs = await Promise.all([run(), run()]);
      const saved = outputs.map((output) => {
        const text = new TextDecoder().decode(output.stdout);
        assert.equal(output.code, 0, text + new TextDecoder().decode(output.stderr));
        return /^Saved to (.+\.pcap)$/m.exec(text)?.[1];
      });
      assert.notEqual(saved[0], saved[1]);
      for (const path of saved) assert.ok((await Deno.stat(path!)).size > 24, `${path} holds no packets`);
    }),
});
