/**
 * The HTTP benchmark: Kata 4's reference next to Deno.serve (and nginx
 * where installed) answering the same page with `Connection: close`, under
 * the same load, in interleaved rounds (see `rounds.ts`). wrk drives the
 * load where installed; otherwise a small Deno generator does, and the
 * report says so. Both run through the tool runner, pinned to the load
 * generator's core (see `pinning.ts`).
 *
 * @module
 */

import { cpuSeconds, memory } from "../tools/process_stats.ts";
import { runTool, spawnTool, ToolError } from "../tools/runner.ts";
import { choosePinning, type CoresBusy, type Pinning, watchCores } from "./pinning.ts";
import { interleave } from "./rounds.ts";
import { type BenchServer, ServerStartError, startBenchServer } from "./server_process.ts";

/** One server in one round. */
export interface HttpMeasurement extends CoresBusy {
  server: string;
  /** Which round, from 1. */
  round: number;
  generator: "wrk" | "deno";
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  socketErrors: number;
  serverCpu?: number;
  serverPeakRss?: number;
  /** The load generator's share of its core: near 1, it may be what limits the rate. */
  clientCpu?: number;
  error?: string;
}

/** Options for {@linkcode runHttpBench}. */
export interface HttpBenchOptions {
  servers: readonly BenchServer[];
  /** Measured seconds per measurement. */
  seconds: number;
  connections: number;
  /** Rounds; the CLI asks for at least 3. @default {3} */
  rounds?: number;
  /**
   * Seconds of the same load before each measurement, not counted: each
   * server starts fresh, and a JIT compiler needs a moment. @default {1}
   */
  warmupSeconds?: number;
  /** Where processes run. @default {await choosePinning()} */
  pinning?: Pinning;
  onMeasurement?: (measurement: HttpMeasurement) => void;
}

/** Whether wrk can be run here. */
async function haveWrk(): Promise<boolean> {
  try {
    await runTool("wrk", ["--version"]);
    return true;
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    // wrk --version exits 1 after printing its version: present all the same.
    return error.kind !== "missing";
  }
}

/**
 * Runs the load against every server, in interleaved rounds (A, B, C, A,
 * B, C, …), each server started fresh for each measurement. Returns every
 * measurement in the order it was made.
 *
 * @example
 * ```ts ignore
 * import { runHttpBench } from "./http.ts";
 * const measurements = await runHttpBench({
 *   servers: [{ name: "mine", command: "./server {port}" }],
 *   seconds: 5,
 *   connections: 50,
 * });
 * ```
 */
export async function runHttpBench(
  options: HttpBenchOptions,
): Promise<HttpMeasurement[]> {
  const pinning = options.pinning ?? await choosePinning();
  const generator = await haveWrk() ? "wrk" : "deno";
  const measurements: HttpMeasurement[] = [];
  await interleave(options.servers, options.rounds ?? 3, async (server, round) => {
    const measurement = await measure(server, { round, generator, pinning, options });
    measurements.push(measurement);
    options.onMeasurement?.(measurement);
  });
  return measurements;
}

/** Everything one measurement needs besides its server. */
interface Run {
  round: number;
  generator: "wrk" | "deno";
  pinning: Pinning;
  options: HttpBenchOptions;
}

async function measure(target: BenchServer, run: Run): Promise<HttpMeasurement> {
  const empty: HttpMeasurement = {
    server: target.name,
    round: run.round,
    generator: run.generator,
    requestsPerSecond: 0,
    p50Ms: 0,
    p99Ms: 0,
    non2xx: 0,
    socketErrors: 0,
  };
  try {
    await using server = await startBenchServer(target, run.pinning);
    const url = `http://127.0.0.1:${server.port}/`;
    const warmup = run.options.warmupSeconds ?? 1;
    if (warmup > 0) await runLoad(url, warmup, run);
    const cpuBefore = await cpuSeconds(server.pid);
    const cores = await watchCores(run.pinning);
    const started = performance.now();
    const load = await runLoad(url, run.options.seconds, run);
    const wall = (performance.now() - started) / 1000;
    const cpuAfter = await cpuSeconds(server.pid);
    return {
      ...empty,
      ...load,
      ...await cores(),
      serverCpu: cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / wall : undefined,
      serverPeakRss: (await memory(server.pid)).peak,
    };
  } catch (error) {
    // One server failing one round is reported, and the rounds go on.
    if (!(error instanceof ServerStartError || error instanceof ToolError || error instanceof SyntaxError)) throw error;
    return { ...empty, error: error.message };
  }
}

type Load = Pick<
  HttpMeasurement,
  "requestsPerSecond" | "p50Ms" | "p99Ms" | "non2xx" | "socketErrors" | "clientCpu"
>;

/** One run of the load generator against `url`, for `seconds`. */
async function runLoad(url: string, seconds: number, run: Run): Promise<Load> {
  const connections = String(run.options.connections);
  if (run.generator === "wrk") {
    // wrk counts its duration in whole seconds.
    const args = ["-t1", `-c${connections}`, `-d${Math.ceil(seconds)}s`, "--latency", "-H", "Connection: close", url];
    const { output, cpu } = await runPinned("wrk", args, seconds, run.pinning);
    return { ...parseWrk(output), clientCpu: cpu };
  }
  const script = decodeURIComponent(new URL("./http_load.ts", import.meta.url).pathname);
  const args = ["run", "--allow-net=127.0.0.1", script, url, connections, String(seconds)];
  const { output, cpu } = await runPinned("deno", args, seconds, run.pinning);
  const load = JSON.parse(output);
  return {
    requestsPerSecond: load.requests / load.seconds,
    p50Ms: load.p50_ms,
    p99Ms: load.p99_ms,
    non2xx: load.non2xx,
    socketErrors: load.errors,
    clientCpu: cpu,
  };
}

/**
 * Runs a load generator through the tool runner, pinned to the load core
 * as soon as it has started, and returns what it printed and the share of
 * a core it used (sampled from /proc while it runs: once it has exited its
 * figures are gone). It has `seconds` plus a margin to finish; a ToolError
 * says why it did not.
 */
async function runPinned(
  name: "wrk" | "deno",
  args: string[],
  seconds: number,
  pinning: Pinning,
): Promise<{ output: string; cpu?: number }> {
  await using tool = spawnTool(name, args, { lifetimeMs: (seconds + 30) * 1000 });
  // The generator itself, not the `timeout` that bounds its life. One that
  // fails at once is gone before it can be pinned: its own message is then
  // the one to report.
  const pid = await tool.toolPid();
  const pinned = await pinning.load(pid).then(() => undefined, (error) => error);
  const first = { cpu: await cpuSeconds(pid), at: performance.now() };
  let last = first;
  const deadline = performance.now() + (seconds + 30) * 1000;
  let status: Deno.CommandStatus | undefined;
  while (!status && performance.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), 250));
    status = await Promise.race([tool.finished, tick]).finally(() => clearTimeout(timer));
    const cpu = status ? undefined : await cpuSeconds(pid);
    if (cpu !== undefined) last = { cpu, at: performance.now() };
  }
  if (!status) throw new ToolError(name, "timeout", `${name} did not finish within ${seconds + 30} s`);
  if (!status.success) {
    throw new ToolError(name, "failed", `${name} failed: ${tool.stderr().trim() || `exit status ${status.code}`}`);
  }
  if (pinned) throw pinned;
  const cpu = first.cpu !== undefined && last.at > first.at
    ? (last.cpu! - first.cpu) / ((last.at - first.at) / 1000)
    : undefined;
  return { output: tool.stdout(), cpu };
}

/**
 * Reads wrk's report: requests/s, latency percentiles, non-2xx and socket errors.
 *
 * @example
 * ```ts ignore
 * import { parseWrk } from "./http.ts";
 * parseWrk(wrkOutput).requestsPerSecond; // 18400.12
 * ```
 */
export function parseWrk(text: string): Omit<Load, "clientCpu"> {
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!rate) throw new SyntaxError(`wrk printed no Requests/sec:\n${text}`);
  const percentile = (p: string) => {
    const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\b`, "m").exec(
      text,
    );
    if (!match) return 0;
    return Number(match[1]) *
      ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[match[2]];
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    text,
  );
  return {
    requestsPerSecond: Number(rate[1]),
    p50Ms: percentile("50"),
    p99Ms: percentile("99"),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}
