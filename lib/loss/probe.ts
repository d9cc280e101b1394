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

/** How request/response transfers fared: completion times in ms. */
export interface RequestResult {
  protocol: "tcp" | "udp";
  /** Bytes per answer. */
  size: number;
  completed: number;
  /** Requests not answered within 10 s. */
  failed: number;
  medianMs: number | null;
  p90Ms: number | null;
  maxMs: number | null;
}

/** One run of the light workloads, both protocols at once. */
export interface WorkloadsResult {
  realtime: { tcp: RealtimeResult; udp: RealtimeResult };
  requests: { tcp: RequestResult; udp: RequestResult };
}

const denoArgs = (
  probe: string,
  mode: string[],
) => [
  "run",
  "--allow-net",
  "--unstable-net",
  probe,
  ...mode,
];

/**
 * The lab's own counters `names` (TcpRetransSegs, UdpRcvbufErrors…) so far.
 * Linux keeps them per network namespace, so the difference around a run
 * is that run's. Read with `nstat` because Deno lets no program read
 * /proc/net/snmp without --allow-all. A counter the kernel does not have
 * reads 0.
 *
 * @example
 * ```ts ignore
 * const { TcpRetransSegs } = await labCounters(lab, ["TcpRetransSegs"]);
 * ```
 */
export async function labCounters<N extends string>(lab: Lab, names: readonly N[]): Promise<Record<N, number>> {
  const { stdout } = await lab.run("nstat", ["-asz", ...names]);
  const counters = {} as Record<N, number>;
  for (const name of names) counters[name] = Number(new RegExp(`^${name}\\s+(\\d+)`, "m").exec(stdout)?.[1] ?? 0);
  return counters;
}

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
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const { stdout } = await lab.run("deno", denoArgs(probe, mode), {
    timeoutMs: (seconds + 15) * 1000,
    signal,
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
    /** Ends the run at once, with the reason, when the path to the server is gone. */
    signal?: AbortSignal;
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
    const before = await labCounters(lab, ["TcpRetransSegs"]);
    const report = await runProbe(lab, probe, ["tcp", ...common], options.seconds, options.signal);
    const after = await labCounters(lab, ["TcpRetransSegs"]);
    return {
      protocol: "tcp",
      goodput: report.goodput as number,
      retransmits: after.TcpRetransSegs - before.TcpRetransSegs,
    };
  }
  const udp = ["udp", ...common, "--rate", options.udpRate];
  const report = await runProbe(lab, probe, udp, options.seconds, options.signal);
  return {
    protocol: "udp",
    goodput: report.goodput as number,
    lossPercent: report.lossPercent as number,
    datagrams: report.sent as number,
    jitterMs: report.jitterMs as number,
  };
}

/** Options for {@linkcode workloadsRun}. */
export interface WorkloadsOptions {
  server: string;
  seconds: number;
  /** Real-time messages per second. */
  rate: number;
  deadlineMs: number;
  /** Request/response: bytes per answer. */
  size: number;
  /** Request/response over UDP: ask again after this long, ms. */
  retryMs: number;
  /** Ends the run at once, with the reason, when the path to the server is gone. */
  signal?: AbortSignal;
}

/**
 * The real-time stream and request/response, over TCP and UDP at once:
 * four light flows, one probe run.
 *
 * @example
 * ```ts ignore
 * const run = await workloadsRun(lab, probe, { server: "198.18.0.2", seconds: 3, rate: 50, deadlineMs: 150, size: 10_000, retryMs: 100 });
 * console.log(run.requests.tcp.medianMs);
 * ```
 */
export async function workloadsRun(lab: Lab, probe: string, options: WorkloadsOptions): Promise<WorkloadsResult> {
  const mode = [
    "workloads",
    "--host",
    options.server,
    "--port",
    String(PROBE_PORT),
    "--seconds",
    String(options.seconds),
    "--rate",
    String(options.rate),
    "--deadline",
    String(options.deadlineMs),
    "--size",
    String(options.size),
    "--retry",
    String(options.retryMs),
  ];
  return await runProbe(lab, probe, mode, options.seconds + 10, options.signal) as unknown as WorkloadsResult;
}

/** Round-trip times measured with the probe's UDP ping, ms. */
export interface PingResult {
  sent: number;
  received: number;
  minMs: number | null;
  medianMs: number | null;
  maxMs: number | null;
}

/**
 * The path's round trip between two labs, measured as ping would (over
 * UDP: ping needs a raw socket and is not installed everywhere): a probe
 * server in `serverLab`, `count` pings from `clientLab`.
 *
 * @example
 * ```ts ignore
 * const ping = await udpPingIn(client, server, probe, { server: "198.18.0.2", count: 50 });
 * console.log(ping.medianMs);
 * ```
 */
export async function udpPingIn(
  clientLab: Lab,
  serverLab: Lab,
  probe: string,
  options: { server: string; count: number },
): Promise<PingResult> {
  await using _server = await startProbeServer(serverLab, probe, options.server, {
    idleSeconds: 30,
    lifetimeMs: 60_000,
  });
  const seconds = Math.ceil(options.count * 0.03) + 2;
  return await runProbe(clientLab, probe, [
    "ping",
    "--host",
    options.server,
    "--port",
    String(PROBE_PORT),
    "--count",
    String(options.count),
  ], seconds) as unknown as PingResult;
}
