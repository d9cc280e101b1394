/**
 * The pcap benchmark's machinery: interleaved rounds, figures and ratios
 * taken within a round, the load average (its figures are not checked
 * here: speed targets live in `deno task bench pcap`, not in tests).
 */

import assert from "node:assert/strict";
import { formatPcapBench, pcapTaskCommand, runPcapBench } from "../lib/bench/pcap.ts";
import { hasProgram, requires, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

Deno.test({
  name: `runPcapBench() runs the contenders in interleaved rounds and compares them within each round${needs.suffix}`,
  ignore: needs.ignore || Deno.build.os !== "linux",
  fn: () =>
    withTempDir("netkata-bench-pcap-", async (dir) => {
      const seen: string[] = [];
      const result = await runPcapBench({
        capture: `${ROOT}tests/fixtures/pcap/handshake-ethernet.pcap`,
        packets: 8,
        outputDirectory: dir,
        rounds: 2,
        netkata: await pcapTaskCommand(),
        onRun: (run) => seen.push(`${run.round} ${run.contender}`),
      });
      const order = ["netkata text", "netkata --json", "tcpdump -nn -r", "tshark -T fields"];
      assert.deepEqual(seen, [...order.map((name) => `1 ${name}`), ...order.map((name) => `2 ${name}`)]);
      for (const run of result.runs.filter((run) => run.contender.startsWith("netkata"))) {
        assert.equal(run.error, undefined);
        assert.ok(run.seconds > 0 && run.peakRss! > 0);
      }
      const text = result.figures["netkata text"].seconds!;
      assert.ok(text.min <= text.median && text.median <= text.max);
      // The load average needs --allow-sys=loadavg, which deno task bench has and deno task test has not.
      const load = Deno.permissions.querySync({ name: "sys", kind: "loadavg" }).state === "granted" ? 3 : undefined;
      assert.equal(result.loadBefore?.length, load);
      assert.equal(result.loadAfter?.length, load);
      if (await hasProgram("tcpdump")) {
        const [first, second] = [1, 2].map((round) =>
          result.runs.filter((run) => run.round === round).map((run) => run.seconds)
        );
        const ratios = [first[2] / first[0], second[2] / second[0]].sort((a, b) => a - b);
        assert.deepEqual(result.ratios["netkata text vs tcpdump -nn -r"], {
          median: (ratios[0] + ratios[1]) / 2,
          min: ratios[0],
          max: ratios[1],
          rounds: 2,
        });
      }
      assert.match(
        formatPcapBench(result),
        /^8 packets, 2 interleaved rounds .*\nload average (unknown|[\d.]+ )/,
      );
      assert.deepEqual([...Deno.readDirSync(dir)], [], "outputs removed");
    }),
});

Deno.test({
  name: `pcapTaskCommand() is deno.json's pcap task, with this Deno and the task file's full path${needs.suffix}`,
  ignore: needs.ignore,
  fn: async () => {
    const command = await pcapTaskCommand();
    assert.equal(command[0], Deno.execPath());
    assert.equal(command[1], "run");
    assert.equal(command.at(-1), `${ROOT}tasks/pcap.ts`);
    assert.ok(command.includes("--allow-read"));
  },
});
