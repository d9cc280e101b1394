/**
 * The echo benchmark: the same load against every echo server, in
 * interleaved rounds (see `rounds.ts`). Servers and the C load generator
 * are separate processes on cores of their own where the machine has two
 * (see `pinning.ts`), so that a saturated client does not pass for a slow
 * server; the client's own CPU use is reported.
 *
 * @module
 */

import { cpuSeconds, memory } from "../tools/process_stats.ts";
import { ToolError } from "../tools/runner.ts";
import { buildEchoLoad, LoadError, type LoadResult, runEchoLoad, type Scenario } from "./echo_load.ts";
import { choosePinning, type CoresBusy, type Pinning, watchCores } from "./pinning.ts";
import { interleave } from "./rounds.ts";
import { type BenchServer, ServerStartError, startBenchServer } from "./server_process.ts";

export type { Scenario } from "./echo_load.ts";
export type { BenchServer } from "./server_process.ts";

/** The default scenarios, as the kit's issue asks for them. */
export const SCENARIOS: readonly Scenario[] = [
  { name: "rr 64 B × 1", mode: "rr", size: 64, connections: 1 },
  { name: "rr 64 B × 100", mode: "rr", size: 64, connections: 100 },
  { name: "rr 64 B × 1000", mode: "rr", size: 64, connections: 1000 },
  { name: "rr 64 KiB × 1", mode: "rr", size: 65_536, connections: 1 },
  { name: "rr 64 KiB × 100", mode: "rr", size: 65_536, connections: 100 },
  { name: "rr 64 KiB × 1000", mode: "rr", size: 65_536, connections: 1000 },
  { name: "stream 64 KiB × 100", mode: "stream", size: 65_536, connections: 100 },
  { name: "10 000 idle + rr 64 B × 100", mode: "rr", size: 64, connections: 100, idle: 10_000 },
];

/** One server under one scenario in one round: what the load generator measured, and the server's own figures. */
export interface Measurement extends CoresBusy {
  server: string;
  scenario: string;
  /** Which round, from 1. */
  round: number;
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

/** Options for {@linkcode runEchoBench}. */
export interface EchoBenchOptions {
  servers: readonly BenchServer[];
  scenarios: readonly Scenario[];
  /** Measured seconds per measurement, after warm-up. */
  seconds: number;
  /** Rounds per scenario; the CLI asks for at least 3. @default {3} */
  rounds?: number;
  /** Where the load generator is built. */
  buildDirectory: string;
  /** Where processes run. @default {await choosePinning()} */
  pinning?: Pinning;
  /** Called with each measurement as it is made. */
  onMeasurement?: (measurement: Measurement) => void;
}

/**
 * Runs every scenario against every server, in interleaved rounds within
 * each scenario (A, B, C, A, B, C, …). Returns every measurement in the
 * order it was made; `summarizeEcho()` in `echo_report.ts` turns them into
 * medians and ratios.
 *
 * @example
 * ```ts ignore
 * import { runEchoBench, SCENARIOS } from "./echo.ts";
 * const measurements = await runEchoBench({
 *   servers: [{ name: "mine", command: "./echo {port}" }],
 *   scenarios: SCENARIOS.slice(0, 1),
 *   seconds: 2,
 *   buildDirectory: "logs/.build/bench",
 * });
 * ```
 */
export async function runEchoBench(
  options: EchoBenchOptions,
): Promise<Measurement[]> {
  const loadBinary = await buildEchoLoad(options.buildDirectory);
  const pinning = options.pinning ?? await choosePinning();
  const measurements: Measurement[] = [];
  for (const scenario of options.scenarios) {
    await interleave(options.servers, options.rounds ?? 3, async (server, round) => {
      const measurement = await measure(server, { scenario, round, seconds: options.seconds, loadBinary, pinning });
      measurements.push(measurement);
      options.onMeasurement?.(measurement);
    });
  }
  return measurements;
}

/** Everything one measurement needs besides its server. */
interface Run {
  scenario: Scenario;
  round: number;
  seconds: number;
  loadBinary: string;
  pinning: Pinning;
}

/** Starts the server fresh, loads it, and stops it; a failure is reported in the measurement. */
async function measure(target: BenchServer, run: Run): Promise<Measurement> {
  const empty: Measurement = {
    server: target.name,
    scenario: run.scenario.name,
    round: run.round,
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
  try {
    await using server = await startBenchServer(target, run.pinning);
    return { ...empty, ...await loadServer(server.pid, server.port, run) };
  } catch (error) {
    // One server failing one round is reported, and the rounds go on.
    if (!(error instanceof ServerStartError || error instanceof LoadError || error instanceof ToolError)) throw error;
    return { ...empty, error: error.message };
  }
}

/** The load generator's figures against one running server, and the server's CPU and memory meanwhile. */
async function loadServer(pid: number, port: number, run: Run): Promise<Partial<Measurement>> {
  const rssAtRest = (await memory(pid)).rss;
  let cpuBefore = await cpuSeconds(pid);
  let cores = await watchCores(run.pinning);
  let started = performance.now();
  let rssPerIdle: number | undefined;
  const load: LoadResult = await runEchoLoad(run.loadBinary, { port, scenario: run.scenario, seconds: run.seconds }, {
    started: (loader) => run.pinning.load(loader),
    idleReady: async () => {
      // The server's memory with only idle clients; its CPU then counts
      // the measured load only, not the idle set-up.
      const rss = await settledRss(pid);
      if (rss !== undefined && rssAtRest !== undefined) rssPerIdle = (rss - rssAtRest) / run.scenario.idle!;
      cpuBefore = await cpuSeconds(pid);
      cores = await watchCores(run.pinning);
      started = performance.now();
    },
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const cpuAfter = await cpuSeconds(pid);
  return {
    ...await cores(),
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
