/**
 * The HTTP benchmark: Kata 4's reference next to Deno.serve (and nginx
 * where installed) answering the same page with `Connection: close`, under
 * the same load, in one run. wrk drives the load where installed; otherwise
 * a small Deno generator does, and the report says so.
 *
 * @module
 */

import { formatTable } from "../report/table.ts";
import { cpuSeconds, memory } from "../tools/process_stats.ts";
import { type Pin, pinner, startBenchServer } from "./server_process.ts";

/** A server to measure: a name and a command with `{port}`. */
export interface HttpBenchServer {
  name: string;
  command: string;
}

/** One server's figures. */
export interface HttpMeasurement {
  server: string;
  generator: "wrk" | "deno";
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  socketErrors: number;
  serverCpu?: number;
  serverPeakRss?: number;
  error?: string;
}

/** Options for {@linkcode runHttpBench}. */
export interface HttpBenchOptions {
  servers: HttpBenchServer[];
  seconds: number;
  connections: number;
  onMeasurement?: (measurement: HttpMeasurement) => void;
}

/** Whether wrk can be run here. */
async function haveWrk(): Promise<boolean> {
  try {
    await new Deno.Command("wrk", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return true;
  } catch {
    return false;
  }
}

/** Runs the load against every server in turn. */
export async function runHttpBench(
  options: HttpBenchOptions,
): Promise<HttpMeasurement[]> {
  const pin = await pinner();
  const generator = await haveWrk() ? "wrk" : "deno";
  const results: HttpMeasurement[] = [];
  for (const server of options.servers) {
    const measurement = await measure(server, generator, pin, options);
    results.push(measurement);
    options.onMeasurement?.(measurement);
  }
  return results;
}

async function measure(
  target: HttpBenchServer,
  generator: "wrk" | "deno",
  pin: Pin,
  options: HttpBenchOptions,
): Promise<HttpMeasurement> {
  const empty: HttpMeasurement = {
    server: target.name,
    generator,
    requestsPerSecond: 0,
    p50Ms: 0,
    p99Ms: 0,
    non2xx: 0,
    socketErrors: 0,
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
  try {
    const url = `http://127.0.0.1:${server.port}/`;
    const cpuBefore = await cpuSeconds(server.pid);
    const started = performance.now();
    const load = generator === "wrk" ? await runWrk(url, options, pin) : await runDenoLoad(url, options, pin);
    const wall = (performance.now() - started) / 1000;
    const cpuAfter = await cpuSeconds(server.pid);
    return {
      ...empty,
      ...load,
      serverCpu: cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / wall : undefined,
      serverPeakRss: (await memory(server.pid)).peak,
    };
  } catch (error) {
    return {
      ...empty,
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    await server.stop();
  }
}

type Load = Pick<
  HttpMeasurement,
  "requestsPerSecond" | "p50Ms" | "p99Ms" | "non2xx" | "socketErrors"
>;

async function runWrk(
  url: string,
  options: HttpBenchOptions,
  pin: Pin,
): Promise<Load> {
  const [program, ...args] = pin(1, [
    "wrk",
    "-t1",
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--latency",
    "-H",
    "Connection: close",
    url,
  ]);
  const output = await new Deno.Command(program, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(
      `wrk failed: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
  return parseWrk(text);
}

/** Reads wrk's report: requests/s, latency percentiles, non-2xx and socket errors. */
export function parseWrk(text: string): Load {
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!rate) throw new Error(`wrk printed no Requests/sec:\n${text}`);
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

async function runDenoLoad(
  url: string,
  options: HttpBenchOptions,
  pin: Pin,
): Promise<Load> {
  const script = decodeURIComponent(
    new URL("./http_load.ts", import.meta.url).pathname,
  );
  const [program, ...args] = pin(1, [
    Deno.execPath(),
    "run",
    "--allow-net=127.0.0.1",
    script,
    url,
    String(options.connections),
    String(options.seconds),
  ]);
  const output = await new Deno.Command(program, {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(
      `load generator failed: ${new TextDecoder().decode(output.stderr).trim()}`,
    );
  }
  const load = JSON.parse(new TextDecoder().decode(output.stdout));
  return {
    requestsPerSecond: load.requests / load.seconds,
    p50Ms: load.p50_ms,
    p99Ms: load.p99_ms,
    non2xx: load.non2xx,
    socketErrors: load.errors,
  };
}

/** The measurements as a table, with each server's rate against `baseline`'s. */
export function formatHttpBench(
  results: readonly HttpMeasurement[],
  baseline: string,
): string {
  const base = results.find((r) => r.server === baseline && !r.error);
  return formatTable(
    [
      "server",
      "req/s",
      "p50 ms",
      "p99 ms",
      "non-2xx",
      "socket errors",
      "srv CPU",
      "srv peak RSS",
      `vs ${baseline}`,
    ],
    results.map((r) =>
      r.error ? [r.server, `error: ${r.error}`, "", "", "", "", "", "", ""] : [
        r.server,
        Math.round(r.requestsPerSecond).toLocaleString("en-US"),
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        String(r.non2xx),
        String(r.socketErrors),
        r.serverCpu === undefined ? "–" : `${Math.round(r.serverCpu * 100)}%`,
        r.serverPeakRss === undefined ? "–" : `${(r.serverPeakRss / 2 ** 20).toFixed(1)} MiB`,
        base ? `${(r.requestsPerSecond / base.requestsPerSecond).toFixed(2)}×` : "–",
      ]
    ),
  );
}
