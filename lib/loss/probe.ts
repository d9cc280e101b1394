/**
 * Running Kata 6's Deno probe (katas/06-tcp-vs-udp/probe.ts) inside a lab,
 * as the alternative to iperf3 and for the real-time workload iperf3 does
 * not have.
 *
 * @module
 */

import type { Lab } from "../lab/lab.ts";
import { ToolError, type ToolProcess } from "../tools/runner.ts";
import type { RunResult } from "./iperf.ts";

/** The probe's port, beside iperf3's 5201. */
export const PROBE_PORT = 5202;

/** How a real-time stream fared. */
export interface RealtimeResult {
  protocol: "tcp" | "udp";
  sent: number;
  /** Fraction of messages that arrived at all. */
  delivered: number;
  /** Fraction that arrived within the deadline. */
  onTime: number;
  p99Ms: number | null;
  deadlineMs: number;
}

const denoArgs = (
  probe: string,
  mode: string[],
) => ["run", "--allow-net", "--unstable-net", probe, ...mode];

/**
 * Starts the probe's server in `lab`, listening on `address`. It stops by
 * itself after `idleSeconds` without a client (and at `lifetimeMs` at the
 * latest), so that a killed sweep does not leave it running.
 */
export async function startProbeServer(
  lab: Lab,
  probe: string,
  address: string,
  limits: { idleSeconds: number; lifetimeMs: number },
): Promise<ToolProcess> {
  const server = lab.spawn(
    "deno",
    denoArgs(probe, ["serve", "--host", address, "--port", String(PROBE_PORT), "--idle", String(limits.idleSeconds)]),
    { lifetimeMs: limits.lifetimeMs },
  );
  try {
    await server.waitForOutput(/probe listening/);
  } catch (error) {
    await server.stop("SIGTERM");
    throw error;
  }
  return server;
}

async function runProbe(
  lab: Lab,
  probe: string,
  mode: string[],
  seconds: number,
): Promise<Record<string, unknown>> {
  const { stdout } = await lab.run("deno", denoArgs(probe, mode), {
    timeoutMs: (seconds + 15) * 1000,
  });
  try {
    return JSON.parse(stdout);
  } catch {
    throw new ToolError(
      "deno",
      "failed",
      `The probe printed no report: ${stdout.slice(0, 200)}`,
    );
  }
}

/** Bulk TCP or paced UDP with the probe, in the same shape as iperf3's results. */
export async function probeRun(
  lab: Lab,
  probe: string,
  options: {
    server: string;
    protocol: "tcp" | "udp";
    seconds: number;
    udpRate: string;
  },
): Promise<RunResult> {
  const common = [
    "--host",
    options.server,
    "--port",
    String(PROBE_PORT),
    "--seconds",
    String(options.seconds),
  ];
  if (options.protocol === "tcp") {
    const report = await runProbe(
      lab,
      probe,
      ["tcp", ...common],
      options.seconds,
    );
    return { protocol: "tcp", goodput: report.goodput as number };
  }
  const report = await runProbe(lab, probe, [
    "udp",
    ...common,
    "--rate",
    options.udpRate,
  ], options.seconds);
  return {
    protocol: "udp",
    goodput: report.goodput as number,
    lossPercent: report.lossPercent as number,
    jitterMs: report.jitterMs as number,
  };
}

/** The real-time workload over `protocol`. */
export async function realtimeRun(
  lab: Lab,
  probe: string,
  options: {
    server: string;
    protocol: "tcp" | "udp";
    seconds: number;
    rate: number;
    deadlineMs: number;
  },
): Promise<RealtimeResult> {
  return await runProbe(lab, probe, [
    "realtime",
    "--host",
    options.server,
    "--port",
    String(PROBE_PORT),
    "--proto",
    options.protocol,
    "--seconds",
    String(options.seconds),
    "--rate",
    String(options.rate),
    "--deadline",
    String(options.deadlineMs),
  ], options.seconds) as unknown as RealtimeResult;
}
