/**
 * One iperf3 run, read from its JSON report. Three facts that bite:
 * - UDP goodput is what the receiver got, `end.sum_received.bits_per_second`
 *   (`end.sum.bits_per_second` is the sender's rate);
 * - with -J, iperf3 can exit 0 and still have failed: read the `error` field;
 * - the congestion control in use is in the report: record it.
 *
 * @module
 */

import { runTool, ToolError } from "../tools/runner.ts";
import type { Lab } from "../lab/lab.ts";

/** What one run measured. */
export interface RunResult {
  protocol: "tcp" | "udp";
  /** Bits per second delivered to the receiver. */
  goodput: number;
  /** TCP: segments retransmitted by the sender. */
  retransmits?: number;
  /** UDP: per cent of datagrams lost. */
  lossPercent?: number;
  /** UDP: jitter in ms (RFC 3550). */
  jitterMs?: number;
  /** TCP: the sender's smallest smoothed RTT (the path, without queueing), µs. */
  rttUs?: number;
  /** TCP: maximum segment size in bytes. */
  mss?: number;
  /** TCP: congestion control algorithm used. */
  congestion?: string;
}

/** Options for {@linkcode iperfRun}. */
export interface IperfOptions {
  server: string;
  protocol: "tcp" | "udp";
  seconds: number;
  /** UDP sending rate, iperf3 syntax. @default {"100M"} */
  udpRate?: string;
  /** TCP congestion control (-C). */
  congestion?: string;
  /** Where the client runs; on the host when absent (a remote --server). */
  lab?: Lab;
}

/** Reads an iperf3 -J report; throws with iperf3's own error when it failed. */
export function parseIperf(json: string, protocol: "tcp" | "udp"): RunResult {
  let report;
  try {
    report = JSON.parse(json);
  } catch {
    throw new ToolError(
      "iperf3",
      "failed",
      `iperf3 printed no JSON report: ${json.slice(0, 200)}`,
    );
  }
  if (report.error) {
    throw new ToolError("iperf3", "failed", `iperf3 failed: ${report.error}`);
  }
  const end = report.end ?? {};
  if (protocol === "udp") {
    const received = end.sum_received ?? end.sum;
    if (!received) {
      throw new ToolError(
        "iperf3",
        "failed",
        "iperf3's report has no UDP summary",
      );
    }
    return {
      protocol,
      goodput: received.bits_per_second,
      lossPercent: received.lost_percent ?? end.sum?.lost_percent,
      jitterMs: received.jitter_ms ?? end.sum?.jitter_ms,
    };
  }
  const stream = end.streams?.[0]?.sender;
  return {
    protocol,
    goodput: end.sum_received?.bits_per_second ?? 0,
    retransmits: end.sum_sent?.retransmits,
    rttUs: stream?.min_rtt ?? stream?.mean_rtt,
    mss: report.start?.tcp_mss_default,
    congestion: end.sender_tcp_congestion,
  };
}

/** Runs one iperf3 test against a server already listening. */
export async function iperfRun(options: IperfOptions): Promise<RunResult> {
  const args = ["-c", options.server, "-t", String(options.seconds), "-J"];
  if (options.protocol === "udp") {
    args.push("-u", "-b", options.udpRate ?? "100M");
  }
  if (options.protocol === "tcp" && options.congestion) {
    args.push("-C", options.congestion);
  }
  // iperf3 can hang when its set-up is lost: every run has a deadline.
  const limits = { timeoutMs: (options.seconds + 15) * 1000 };
  let stdout: string;
  try {
    stdout = options.lab
      ? (await options.lab.run("iperf3", args, limits)).stdout
      : (await runTool("iperf3", args, limits)).stdout;
  } catch (error) {
    // With -J, a failing iperf3 still prints its report, error included.
    if (
      error instanceof ToolError && error.kind === "failed" &&
      /"error"/.test(error.message)
    ) {
      throw new ToolError("iperf3", "failed", error.message);
    }
    throw error;
  }
  return parseIperf(stdout, options.protocol);
}
