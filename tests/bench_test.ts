/**
 * The benchmarks' machinery works end to end: interleaved rounds in the
 * order A, B, A, B, summaries of medians and within-round ratios, pinning
 * to cores, every echoed byte verified. Their figures are not checked here:
 * speed targets live in `deno task bench`, not in tests.
 */

import assert from "node:assert/strict";
import { runEchoBench } from "../lib/bench/echo.ts";
import { summarizeEcho } from "../lib/bench/echo_report.ts";
import { parseWrk, runHttpBench } from "../lib/bench/http.ts";
import { summarizeHttp } from "../lib/bench/http_report.ts";
import { main } from "../lib/bench/main.ts";
import { choosePinning, contentionWarning, parseCpuList } from "../lib/bench/pinning.ts";
import { coreBusy } from "../lib/tools/process_stats.ts";
import {
  formatLoad,
  formatRatio,
  formatSpread,
  interleave,
  ratioSpread,
  spread,
  summarizeRounds,
} from "../lib/bench/rounds.ts";
import { startBenchServer } from "../lib/bench/server_process.ts";
import { buildC } from "../lib/tools/build_c.ts";
import { hasProgram, requires, ROOT, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");
const linux = Deno.build.os === "linux";
const ready = !needs.ignore && linux && await hasProgram("cc");
const suffix = needs.suffix || (ready ? "" : " [ignored: needs Linux and cc]");
const deno = (file: string, args = "--port {port}") => `${Deno.execPath()} run --allow-net ${ROOT}${file} ${args}`;

Deno.test("interleave() measures every contender once per round, round after round", async () => {
  const order: string[] = [];
  const rounds = await interleave(["A", "B", "C"], 2, async (name, round) => {
    await Promise.resolve();
    order.push(`${name}${round}`);
    return `${name}${round}`;
  });
  assert.deepEqual(order, ["A1", "B1", "C1", "A2", "B2", "C2"]);
  assert.deepEqual(rounds, [["A1", "B1", "C1"], ["A2", "B2", "C2"]]);
});

Deno.test("spread() gives the median and range; ratioSpread() divides within each round", () => {
  assert.deepEqual(spread([5, 1, 3]), { median: 3, min: 1, max: 5, rounds: 3 });
  assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, rounds: 4 });
  assert.equal(spread([]), undefined);
  // The machine is twice as fast in round 2: B is half of A in both rounds,
  // which the ratio within each round sees and a ratio of medians would blur.
  const rounds = [[{ rate: 10 }, { rate: 5 }], [{ rate: 20 }, { rate: 10 }], [{ rate: 12 }, { rate: 6 }]];
  assert.deepEqual(ratioSpread(rounds, 1, 0, (m) => m.rate), { median: 0.5, min: 0.5, max: 0.5, rounds: 3 });
});

Deno.test("summarizeRounds() leaves failed rounds out of figures and ratios, and lists them", () => {
  const measurements = [
    { tool: "A", round: 1, rate: 10 },
    { tool: "B", round: 1, rate: 5 },
    { tool: "A", round: 2, rate: 20 },
    { tool: "B", round: 2, rate: 0, error: "did not listen" },
    { tool: "A", round: 3, rate: 30 },
    { tool: "B", round: 3, rate: 45 },
  ];
  const [a, b] = summarizeRounds(measurements, {
    contender: (m) => m.tool,
    figures: { rate: (m) => m.rate },
    baseline: "A",
    ratios: ["rate"],
  });
  assert.equal(a.contender, "A");
  assert.deepEqual(a.figures.rate, { median: 20, min: 10, max: 30, rounds: 3 });
  assert.deepEqual(b.figures.rate, { median: 25, min: 5, max: 45, rounds: 2 });
  assert.deepEqual(b.vsBaseline.rate, { median: 1, min: 0.5, max: 1.5, rounds: 2 });
  assert.deepEqual(b.failures, ["round 2: did not listen"]);
});

Deno.test("formatSpread(), formatRatio() and formatLoad() print median, range and load", () => {
  const summary = { median: 0.91, min: 0.57, max: 1.02, rounds: 3 };
  assert.equal(formatSpread(summary, (n) => n.toFixed(2), " s"), "0.91 s (0.57–1.02)");
  assert.equal(formatSpread({ ...summary, rounds: 1 }, (n) => n.toFixed(2)), "0.91");
  assert.equal(formatSpread(undefined), "–");
  assert.equal(formatSpread({ median: 19312, min: 10500, max: 19400, rounds: 3 }), "19,312 (10,500–19,400)");
  assert.equal(formatRatio(summary), "0.91× (0.57–1.02)");
  assert.equal(formatLoad([1, 2, 3], [4, 5, 6]), "load average 1.00 2.00 3.00 before, 4.00 5.00 6.00 after");
  assert.match(formatLoad(undefined, undefined), /unknown/);
});

Deno.test("parseCpuList() reads taskset's affinity list, ranges included", () => {
  assert.deepEqual(parseCpuList("pid 42's current affinity list: 0,2-4,7\n"), [0, 2, 3, 4, 7]);
  assert.deepEqual(parseCpuList("pid 42's current affinity list: 1\n"), [1]);
  assert.throws(() => parseCpuList("taskset: failed"), SyntaxError);
});

Deno.test("coreBusy() and contentionWarning() tell when other work had the server's core", () => {
  const before = [{ busy: 100, total: 1000 }, { busy: 0, total: 1000 }];
  const after = [{ busy: 190, total: 1100 }, { busy: 50, total: 1100 }];
  assert.equal(coreBusy(before, after, 0), 0.9);
  assert.equal(coreBusy(before, after, 1), 0.5);
  assert.equal(coreBusy(undefined, after, 0), undefined);
  // The server used 20% of a core that was 90% busy: 70% went to others.
  assert.match(contentionWarning([{ serverCpu: 0.2, serverCoreBusy: 0.9 }]) ?? "", /busy with other work 70%/);
  assert.equal(contentionWarning([{ serverCpu: 0.8, serverCoreBusy: 0.95 }]), undefined);
  assert.equal(contentionWarning([{ serverCpu: 0.1, serverCoreBusy: 1, error: "did not listen" }]), undefined);
  assert.equal(contentionWarning([{}]), undefined);
});

Deno.test("main() refuses fewer than 3 rounds, unknown benchmarks and scenarios, and servers with one name", async () => {
  const usage = (message: string) => ({ name: "UsageError", message });
  await assert.rejects(main(["echo", "--rounds", "2"]), usage("--rounds takes a whole number from 3 to 20"));
  await assert.rejects(main(["speed"]), usage("Unknown benchmark: speed (there are: echo, http, pcap, check)"));
  await assert.rejects(
    main(["echo", "--only", "8 KiB", "--only", "× 7"]),
    usage('No scenario matches "8 KiB", "× 7"'),
  );
  await assert.rejects(main(["http", "--cmd", "nginx"]), usage('--cmd takes "name=COMMAND {port}", not "nginx"'));
  await assert.rejects(
    main(["http", "--cmd", "a=./x {port}", "--cmd", "a=./y {port}"]),
    usage('Two servers are named "a": give each --cmd its own name'),
  );
});

Deno.test({
  name: `choosePinning() pins every thread of a process to the server's core, or says why not${suffix}`,
  ignore: needs.ignore || !linux,
  fn: async () => {
    const pinning = await choosePinning();
    if (!pinning.cores) {
      assert.match(pinning.description, /^not pinned: /);
      return;
    }
    assert.notEqual(pinning.cores.server, pinning.cores.load);
    const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      await pinning.server(sleeper.pid);
      const shown = await new Deno.Command("taskset", { args: ["-c", "-p", String(sleeper.pid)] }).output();
      assert.deepEqual(parseCpuList(new TextDecoder().decode(shown.stdout)), [pinning.cores.server]);
    } finally {
      sleeper.kill("SIGKILL");
      await sleeper.status;
    }
  },
});

Deno.test({
  name: `choosePinning() pins a server whose threads come and go (one per connection)${suffix}`,
  ignore: !ready,
  fn: () =>
    withTempDir("netkata-bench-", async (build) => {
      const pinning = await choosePinning();
      if (!pinning.cores) return; // one core: nothing is pinned, as the test above checks
      const binary = await buildC(new URL("../katas/01-echo-threaded/reference.c", import.meta.url), build);
      await using server = await startBenchServer({ name: "C pthreads", command: `${binary} {port}` }, pinning);
      // Clients come and go, so the server's threads do too, while
      // taskset lists the threads and then pins them one by one.
      let churning = true;
      const churn = (async () => {
        while (churning) (await Deno.connect({ hostname: "127.0.0.1", port: server.port })).close();
      })();
      try {
        for (let i = 0; i < 100; i++) await pinning.server(server.pid);
      } finally {
        churning = false;
        await churn;
      }
    }),
});

Deno.test({
  name: `runEchoBench() interleaves rounds (A, B, A, B) and verifies every byte${suffix}`,
  ignore: !ready,
  fn: () =>
    withTempDir("netkata-bench-", async (build) => {
      const seen: string[] = [];
      const measurements = await runEchoBench({
        servers: [
          { name: "kata 1", command: deno("katas/01-echo-threaded/reference.ts") },
          { name: "minimal", command: deno("lib/bench/deno_listen_echo.ts", "{port}") },
        ],
        scenarios: [{ name: "rr 64 B × 4", mode: "rr", size: 64, connections: 4 }],
        seconds: 0.2,
        rounds: 2,
        buildDirectory: build,
        onMeasurement: (m) => seen.push(`${m.server} ${m.round}`),
      });
      assert.deepEqual(seen, ["kata 1 1", "minimal 1", "kata 1 2", "minimal 2"]);
      assert.deepEqual(measurements.map((m) => `${m.server} ${m.round}`), seen);
      for (const m of measurements) {
        assert.equal(m.error, undefined);
        assert.ok(m.messagesPerSecond > 0);
        assert.equal(m.mismatches, 0);
        assert.equal(m.starved, 0);
      }
      const [kata1, minimal] = summarizeEcho(measurements, "kata 1");
      assert.equal(kata1.scenario, "rr 64 B × 4");
      assert.equal(minimal.figures.messagesPerSecond?.rounds, 2);
      assert.equal(minimal.vsBaseline.messagesPerSecond?.rounds, 2);
      assert.deepEqual(kata1.vsBaseline.messagesPerSecond, { median: 1, min: 1, max: 1, rounds: 2 });
    }),
});

Deno.test({
  name: `runEchoBench() counts echoes that come back different${suffix}`,
  ignore: !ready,
  fn: () =>
    withTempDir("netkata-bench-", async (build) => {
      const [result] = await runEchoBench({
        servers: [{ name: "corrupting", command: deno("tests/fixtures/broken_echo.ts", "corrupts {port}") }],
        scenarios: [{ name: "stream 4 KiB × 2", mode: "stream", size: 4096, connections: 2 }],
        seconds: 0.3,
        rounds: 1,
        buildDirectory: build,
      });
      assert.equal(result.error, undefined);
      assert.ok(result.mismatches > 0);
    }),
});

Deno.test({
  name: `runEchoBench() reports a server that does not start, and goes on with the rounds${suffix}`,
  ignore: !ready,
  fn: () =>
    withTempDir("netkata-bench-", async (build) => {
      const measurements = await runEchoBench({
        servers: [
          { name: "missing", command: `${build}/no-such-server {port}` },
          { name: "minimal", command: deno("lib/bench/deno_listen_echo.ts", "{port}") },
        ],
        scenarios: [{ name: "rr 64 B × 1", mode: "rr", size: 64, connections: 1 }],
        seconds: 0.2,
        rounds: 1,
        buildDirectory: build,
      });
      assert.match(measurements[0].error ?? "", /no-such-server is not installed or not on PATH/);
      assert.equal(measurements[1].error, undefined);
    }),
});

const haveWrk = !needs.ignore && await hasProgram("wrk", ["-v"]).catch(() => false);

Deno.test({
  name: `runHttpBench() interleaves rounds and reports CPU, memory and within-round ratios${suffix}`,
  ignore: needs.ignore || !linux,
  fn: async () => {
    const seen: string[] = [];
    const measurements = await runHttpBench({
      servers: [
        { name: "Deno.serve", command: deno("lib/bench/deno_serve.ts", "{port}") },
        { name: "Kata 4", command: deno("katas/04-http-server/reference.ts") },
        { name: "Deno.listen minimal", command: deno("lib/bench/deno_listen_http.ts", "{port}") },
      ],
      seconds: haveWrk ? 1 : 0.3,
      warmupSeconds: 0,
      connections: 4,
      rounds: 2,
      onMeasurement: (m) => seen.push(`${m.server} ${m.round}`),
    });
    const round = (n: number) => [`Deno.serve ${n}`, `Kata 4 ${n}`, `Deno.listen minimal ${n}`];
    assert.deepEqual(seen, [...round(1), ...round(2)]);
    for (const m of measurements) {
      assert.equal(m.error, undefined);
      assert.ok(m.requestsPerSecond > 0);
      assert.equal(m.non2xx, 0);
      assert.ok((m.serverPeakRss ?? 0) > 0);
    }
    const [, kata4] = summarizeHttp(measurements, "Deno.serve");
    assert.equal(kata4.contender, "Kata 4");
    assert.equal(kata4.vsBaseline.requestsPerSecond?.rounds, 2);
  },
});

Deno.test("parseWrk() reads rate, latency percentiles, non-2xx and socket errors", () => {
  const report = `Running 5s test @ http://127.0.0.1:8080/
  1 threads and 50 connections
  Latency Distribution
     50%  812.00us
     75%    1.10ms
     90%    1.50ms
     99%    3.20ms
  92000 requests in 5.00s, 20.00MB read
  Socket errors: connect 0, read 3, write 1, timeout 0
  Non-2xx or 3xx responses: 7
Requests/sec:  18400.12
Transfer/sec:      4.00MB
`;
  assert.deepEqual(parseWrk(report), {
    requestsPerSecond: 18400.12,
    p50Ms: 0.812,
    p99Ms: 3.2,
    non2xx: 7,
    socketErrors: 4,
  });
  assert.throws(() => parseWrk("garbage"), /no Requests\/sec/);
});

Deno.test({
  name: `deno task bench check --help prints the benchmarks' help, as every bench does${requires("run").suffix}`,
  ignore: requires("run").ignore,
  async fn() {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-run", "--allow-sys=loadavg", "tasks/bench.ts", "check", "--help"],
      cwd: ROOT,
      stdin: "null",
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.match(new TextDecoder().decode(output.stdout), /deno task bench check \[--runs N\]/);
  },
});
