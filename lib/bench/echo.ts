/**
 * The echo benchmark: the same load against every echo server, side by
 * side, in one run. Servers and the load generator are separate processes,
 * pinned to different cores where `taskset` exists, so that a saturated
 * client does not pass for a slow server (its own CPU use is reported).
 *
 * @module
 */

import { buildC } from "../tools/build_c.ts";
import { formatTable } from "../report/table.ts";
import { cpuSeconds, memory } from "../tools/process_stats.ts";
import { type Pin, pinner, startBenchServer } from "./server_process.ts";

/** A server to measure: a name and a command with `{port}`. */
export interface BenchServer {
  name: string;
  command: string;
}

/** One load shape. */
export interface Scenario {
  name: string;
  mode: "rr" | "stream";
  size: number;
  connections: number;
  /** Connections opened first that never send. */
  idle?: number;
}

/** The default scenarios, as the kit's issue asks for them. */
export const SCENARIOS: readonly Scenario[] = [
  { name: "rr 64 B × 1", mode: "rr", size: 64, connections: 1 },
  { name: "rr 64 B × 100", mode: "rr", size: 64, connections: 100 },
  { name: "rr 64 B × 1000", mode: "rr", size: 64, connections: 1000 },
  { name: "rr 64 KiB × 1", mode: "rr", size: 65_536, connections: 1 },
  { name: "rr 64 KiB × 100", mode: "rr", size: 65_536, connections: 100 },
  { name: "rr 64 KiB × 1000", mode: "rr", size: 65_536, connections: 1000 },
  {
    name: "stream 64 KiB × 100",
    mode: "stream",
    size: 65_536,
    connections: 100,
  },
  {
    name: "10 000 idle + rr 64 B × 100",
    mode: "rr",
    size: 64,
    connections: 100,
    idle: 10_000,
  },
];

/** What the load generator measured, plus the server's own figures. */
export interface Measurement {
  server: string;
  scenario: string;
  messagesPerSecond: number;
  megabytesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  rampMs: number;
  starved: number;
  mismatches: number;
  errors: number;
  clientCpu: number;
  serverCpu?: number;
  serverPeakRss?: number;
  /** Idle scenario: server memory per idle connection, in bytes. */
  rssPerIdle?: number;
  error?: string;
}

interface LoadResult {
  seconds: number;
  messages: number;
  bytes: number;
  mismatches: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
  client_cpu: number;
  starved: number;
  ramp_ms: number;
  error?: string;
}

/** Options for {@linkcode runEchoBench}. */
export interface EchoBenchOptions {
  servers: BenchServer[];
  scenarios: readonly Scenario[];
  /** Measured seconds per scenario, after warm-up. @default {2} */
  seconds: number;
  /** Where compiled helpers go. */
  buildDirectory: string;
  /** Called with each measurement as it is made. */
  onMeasurement?: (measurement: Measurement) => void;
}

/** Runs every scenario against every server; returns the measurements. */
export async function runEchoBench(
  options: EchoBenchOptions,
): Promise<Measurement[]> {
  const loadBinary = await buildC(
    new URL("./echo_load.c", import.meta.url),
    options.buildDirectory,
  );
  const pin = await pinner();
  const results: Measurement[] = [];
  for (const scenario of options.scenarios) {
    for (const server of options.servers) {
      const measurement = await measure(
        server,
        scenario,
        loadBinary,
        pin,
        options.seconds,
      );
      results.push(measurement);
      options.onMeasurement?.(measurement);
    }
  }
  return results;
}

async function measure(
  target: BenchServer,
  scenario: Scenario,
  loadBinary: string,
  pin: Pin,
  seconds: number,
): Promise<Measurement> {
  const empty: Measurement = {
    server: target.name,
    scenario: scenario.name,
    messagesPerSecond: 0,
    megabytesPerSecond: 0,
    p50Ms: 0,
    p99Ms: 0,
    rampMs: 0,
    starved: 0,
    mismatches: 0,
    errors: 0,
    clientCpu: 0,
  };
  let server;
  try {
    server = await startBenchServer(target.command, pin);
  } catch (error) {
    return {
      ...empty,
      error: error instanceof Error ? error.message : String(error),
    };
  }
  const { pid, port } = server;
  try {
    const rssAtRest = (await memory(pid)).rss;
    let cpuBefore = await cpuSeconds(pid);
    let started = performance.now();
    const [program, ...args] = pin(1, [
      loadBinary,
      "127.0.0.1",
      String(port),
      scenario.mode,
      String(scenario.size),
      String(scenario.connections),
      String(seconds),
      String(scenario.idle ?? 0),
    ]);
    const loader = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = new Response(loader.stdout).text();
    const input = loader.stdin.getWriter();
    const progress = loader.stderr.pipeThrough(new TextDecoderStream())
      .getReader();
    let rssPerIdle: number | undefined;
    if (scenario.idle) {
      // The load generator opens the idle connections, says so, and waits
      // for us: the server's memory is measured with only idle clients.
      let said = "";
      while (!said.includes("idle ready")) {
        const { value, done } = await progress.read();
        if (done) break;
        said += value;
      }
      const rss = await settledRss(pid);
      if (rss !== undefined && rssAtRest !== undefined) {
        rssPerIdle = (rss - rssAtRest) / scenario.idle;
      }
      // Server CPU counts the measured load only, not the idle set-up.
      cpuBefore = await cpuSeconds(pid);
      started = performance.now();
      await input.write(new TextEncoder().encode("go\n"));
    }
    await input.close();
    const said = await drain(progress);
    const status = await loader.status;
    const wallSeconds = (performance.now() - started) / 1000;
    const cpuAfter = await cpuSeconds(pid);
    const text = (await output).trim();
    if (!status.success || !text.startsWith("{")) {
      return {
        ...empty,
        error: `load generator failed: ${text || said.trim()}`,
      };
    }
    const load: LoadResult = JSON.parse(text);
    if (load.error) return { ...empty, error: load.error };
    return {
      ...empty,
      messagesPerSecond: load.messages / load.seconds,
      megabytesPerSecond: load.bytes / load.seconds / 1e6,
      p50Ms: load.p50_ms,
      p99Ms: load.p99_ms,
      rampMs: load.ramp_ms,
      starved: load.starved,
      mismatches: load.mismatches,
      errors: load.errors,
      clientCpu: load.client_cpu,
      serverCpu: cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / wallSeconds : undefined,
      serverPeakRss: (await memory(pid)).peak,
      rssPerIdle,
    };
  } finally {
    await server.stop();
  }
}

/** Waits until the server's memory stops growing (it is still accepting), then returns it. */
async function settledRss(pid: number): Promise<number | undefined> {
  let last = (await memory(pid)).rss;
  for (let i = 0; i < 50 && last !== undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = (await memory(pid)).rss;
    if (now === undefined || now - last < 64 * 1024) return now;
    last = now;
  }
  return last;
}

async function drain(
  reader: ReadableStreamDefaultReader<string>,
): Promise<string> {
  let text = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += value;
  }
}

/** Formats measurements as one table per scenario, with ratios to a baseline server. */
export function formatBench(
  results: readonly Measurement[],
  baseline: string,
): string {
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  return scenarios.map((scenario) => {
    const rows = results.filter((r) => r.scenario === scenario);
    const base = rows.find((r) => r.server === baseline);
    return `${scenario}\n` + formatTable(
      [
        "server",
        "msgs/s",
        "MB/s",
        "p50 ms",
        "p99 ms",
        "ramp ms",
        "srv CPU",
        "srv peak RSS",
        "client CPU",
        "vs " + baseline,
      ],
      rows.map((r) =>
        r.error ? [r.server, `error: ${r.error}`, "", "", "", "", "", "", "", ""] : [
          r.server,
          Math.round(r.messagesPerSecond).toLocaleString("en-US"),
          r.megabytesPerSecond.toFixed(1),
          r.p50Ms.toFixed(2),
          r.p99Ms.toFixed(2),
          r.rampMs.toFixed(0),
          r.serverCpu === undefined ? "–" : `${Math.round(r.serverCpu * 100)}%`,
          r.serverPeakRss === undefined ? "–" : `${(r.serverPeakRss / 2 ** 20).toFixed(1)} MiB` +
            (r.rssPerIdle === undefined ? "" : ` (${(r.rssPerIdle / 1024).toFixed(1)} KiB/idle)`),
          `${Math.round(r.clientCpu * 100)}%`,
          base && !base.error && base.messagesPerSecond > 0
            ? `${(r.messagesPerSecond / base.messagesPerSecond).toFixed(2)}× msgs` +
              // Streaming has no per-message latency to compare.
              (base.p99Ms > 0 ? `, ${(r.p99Ms / base.p99Ms).toFixed(2)}× p99` : "")
            : "–",
        ]
      ),
    );
  }).join("\n\n");
}
