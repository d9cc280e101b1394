/**
 * Kata 6's experiment for real, in two namespaces joined by a veth pair:
 * the loss applied must match the loss asked for, and TCP must slow down.
 * Also the pieces that need no lab: iperf3's report, medians, Mathis, CSV,
 * the chart.
 */

import assert from "node:assert/strict";
import { parseRate } from "../lib/stages/experiment.ts";
import { parseIperf } from "../lib/loss/iperf.ts";
import { formatRate, sweepChart, sweepCsv } from "../lib/loss/report.ts";
import { mathisEstimate, spread } from "../lib/loss/stats.ts";
import { runSweep, type SweepResult } from "../lib/loss/sweep.ts";
import { runTool, ToolError } from "../lib/tools/runner.ts";
import { hasProgram, isRoot, requires, withTempDir } from "./_support.ts";

Deno.test("parseIperf() reads UDP goodput from the receiver and fails on iperf3's own error", () => {
  const udp = parseIperf(
    JSON.stringify({
      end: {
        sum: { bits_per_second: 100e6, lost_percent: 10, jitter_ms: 0.01 },
        sum_received: { bits_per_second: 90e6, lost_percent: 10, jitter_ms: 0.01 },
      },
    }),
    "udp",
  );
  assert.equal(udp.goodput, 90e6);
  assert.equal(udp.lossPercent, 10);
  assert.throws(
    () => parseIperf(JSON.stringify({ error: "unable to connect to server" }), "tcp"),
    /iperf3 failed: unable to connect to server/,
  );
  assert.throws(() => parseIperf("iperf3: error", "tcp"), ToolError);
  const tcp = parseIperf(
    JSON.stringify({
      start: { tcp_mss_default: 1448 },
      end: {
        streams: [{ sender: { min_rtt: 40, mean_rtt: 90 } }],
        sum_sent: { retransmits: 12 },
        sum_received: { bits_per_second: 5e9 },
        sender_tcp_congestion: "cubic",
      },
    }),
    "tcp",
  );
  assert.deepEqual(tcp, { protocol: "tcp", goodput: 5e9, retransmits: 12, rttUs: 40, mss: 1448, congestion: "cubic" });
});

Deno.test("spread(), mathisEstimate(), parseRate() and formatRate() do their sums right", () => {
  assert.deepEqual(spread([5, 1, 3, 2]), { median: 2.5, min: 1, max: 5 });
  assert.equal(mathisEstimate(1448, 0.001, 0.01), (1448 * 8) / (0.001 * 0.1));
  assert.equal(mathisEstimate(1448, 0.001, 0), undefined);
  assert.equal(parseRate("100M"), 100e6);
  assert.equal(parseRate("1.5g"), 1.5e9);
  assert.equal(parseRate("fast"), undefined);
  assert.equal(formatRate(14.3e9), "14.3 Gbit/s");
  assert.equal(formatRate(873e6), "873 Mbit/s");
});

const SAMPLE: SweepResult = {
  started: "2026-11-27T00:00:00Z",
  method: "nftables",
  rttUs: 50,
  mss: 1448,
  options: { losses: [0, 10], repeats: 1, seconds: 1, udpRate: "100M" },
  levels: [0, 10].map((loss) => ({
    loss,
    tcp: { goodput: spread([loss ? 1e8 : 1e10]), retransmits: spread([0]), runs: [] },
    udp: { goodput: spread([1e8 * (1 - loss / 100)]), lossPercent: spread([loss]), jitterMs: spread([0.01]), runs: [] },
    mathis: loss ? 1e9 : undefined,
  })),
};

Deno.test("sweepCsv() has one row per loss level, and sweepChart() one line per protocol plus Mathis", () => {
  const csv = sweepCsv(SAMPLE).trim().split("\n");
  assert.equal(csv.length, 3);
  assert.match(csv[0], /^loss_percent,tcp_goodput_bps,/);
  assert.match(csv[2], /^10,100000000,/);
  const svg = sweepChart(SAMPLE);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal((svg.match(/<path /g) ?? []).length, 3);
  assert.match(svg, /stroke-dasharray/);
  assert.match(svg, />10 Gbit\/s</);
});

const needs = requires("run", "read", "write");
const ready = !needs.ignore && isRoot() && await hasProgram("ip", ["-V"]) && await hasProgram("nft", ["--version"]) &&
  await hasProgram("iperf3", ["--version"]);
const suffix = needs.suffix || (ready ? "" : " [ignored: needs root, ip, nft and iperf3]");

Deno.test({
  name: `runSweep() applies the loss it is asked for, and TCP slows down under it${suffix}`,
  ignore: !ready,
  fn: async () => {
    const result = await runSweep({ losses: [0, 10], repeats: 1, seconds: 1, udpRate: "100M" });
    const [clean, lossy] = result.levels;
    assert.ok(clean.udp.lossPercent.median < 1, `UDP lost ${clean.udp.lossPercent.median}% with no loss applied`);
    assert.ok(
      Math.abs(lossy.udp.lossPercent.median - 10) <= 2.5,
      `asked 10%, UDP lost ${lossy.udp.lossPercent.median}%`,
    );
    assert.ok(lossy.tcp.goodput.median < clean.tcp.goodput.median);
    assert.doesNotMatch((await runTool("ip", ["netns", "list"])).stdout, /netkata-kata6/);
  },
});

Deno.test({
  name: `the Deno probe agrees with iperf3 at 0% loss (UDP within 5%, TCP within 4×)${suffix}`,
  ignore: !ready,
  fn: async () => {
    const probe = decodeURIComponent(new URL("../katas/06-tcp-vs-udp/probe.ts", import.meta.url).pathname);
    const options = { losses: [0], repeats: 1, seconds: 1, udpRate: "100M", probe };
    const iperf = (await runSweep({ ...options, tool: "iperf3" })).levels[0];
    const deno = (await runSweep({ ...options, tool: "deno" })).levels[0];
    const ratio = (a: number, b: number) => Math.max(a, b) / Math.min(a, b);
    assert.ok(ratio(deno.udp.goodput.median, iperf.udp.goodput.median) <= 1.05, "UDP");
    assert.ok(ratio(deno.tcp.goodput.median, iperf.tcp.goodput.median) <= 4, "TCP");
    assert.equal(deno.realtime?.udp.onTime, 1);
    assert.equal(deno.realtime?.tcp.delivered, 1);
  },
});

Deno.test({
  name: `Ctrl-C in the middle of kata:6 leaves no namespace, rule or process behind${suffix}`,
  ignore: !ready,
  fn: () =>
    withTempDir("netkata-kata6-", async (logs) => {
      const root = decodeURIComponent(new URL("../", import.meta.url).pathname);
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          `--allow-read=${root},${logs}`,
          `--allow-write=${logs}`,
          "--allow-run",
          "tasks/kata.ts",
          "6",
          "run",
          "--loss",
          "0,10",
          "--seconds",
          "5",
          "--repeats",
          "1",
          "--logs",
          logs,
        ],
        cwd: root,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // Wait until the first iperf3 client runs: the lab is fully built then.
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!/iperf3 -c /.test(seen)) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
      child.kill("SIGINT");
      const status = await child.status;
      await reader.cancel();
      await child.stdout.cancel();
      assert.equal(status.code, 130, seen);
      assert.doesNotMatch((await runTool("ip", ["netns", "list"])).stdout, /netkata-kata6/);
      const ps = await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" }).output();
      assert.doesNotMatch(new TextDecoder().decode(ps.stdout), /iperf3 -[sc] .*198\.18\.0\.2/);
    }),
});
