/**
 * One iperf3 run, read from its JSON report. Four facts that bite:
 * - UDP goodput is what the receiver got, `end.sum_received`
 *   (`end.sum.bits_per_second` is the sender's rate);
 * - but not its `bits_per_second`: that is over the time to the end of the
 *   test, which comes late when the loss also hits iperf3's control
 *   connection. The goodput here is the receiver's bytes over the sender's
 *   sending time ({@linkcode sendingSeconds});
 * - with -J, iperf3 can exit 0 and still have failed: read the `error` field;
 * - the congestion control in use is in the report: record it.
 *
 * An iperf3 server runs one test at a time and turns other clients away
 * ("the server is busy running a test"), also for a moment after a test,
 * while it cleans up: a client asked to wait retries with backoff.
 *
 * @module
 */

import { runTool, ToolError, type ToolProcess } from "../tools/runner.ts";
import type { Lab } from "../lab/lab.ts";

/** What one run measured. */
export interface RunResult {
  protocol: "tcp" | "udp";
  /**
   * Bits per second delivered to the receiver. UDP: the bytes it received
   * over the sender's sending time, where both sides' summaries are there.
   * Where UDP is offered above a bottleneck, its queue still drains after
   * the sender stops, and this overstates by that drain over the sending
   * time (measured: 10.9 for 9.8 Mbit/s, 1 s at twice a 10 Mbit/s
   * bottleneck with a 150 KB queue); `receiverRate` has no such error.
   */
  goodput: number;
  /**
   * UDP: iperf3's own receiver rate, the bytes received over the receiver's
   * time. Right where the test ends on time, drain included; low where its
   * end comes late, which loss on iperf3's control connection makes common.
   */
  receiverRate?: number;
  /** TCP: segments retransmitted by the sender. */
  retransmits?: number;
  /**
   * TCP: retransmissions the receiver reported as duplicates (D-SACK): the
   * original had arrived, late or reordered. Spurious, not loss.
   */
  spuriousRetransmits?: number;
  /** UDP: per cent of datagrams lost. */
  lossPercent?: number;
  /** UDP: datagrams sent. */
  datagrams?: number;
  /**
   * UDP: the rate the sender actually sent at, bits/s (iperf3's sender
   * summary). Below the rate asked when the sender was short of CPU.
   */
  offered?: number;
  /**
   * UDP: datagrams the sender sent (its own summary). More than `datagrams`
   * when some were still on the path as the test ended: iperf3's receiver
   * counts those neither received nor lost.
   */
  sentDatagrams?: number;
  /** UDP: bytes the sender sent (its own summary); over `offered`, its sending time. */
  sentBytes?: number;
  /** UDP: bytes the receiver got (its own summary); over the sending time, the goodput. */
  receivedBytes?: number;
  /**
   * UDP: the two summaries' seconds. Both run to the end of the test, which
   * comes late when the control connection's last packets are lost and
   * retransmitted: the sending time is `sentBytes` over `offered`.
   */
  senderSeconds?: number;
  receiverSeconds?: number;
  /** UDP: jitter in ms (RFC 3550). */
  jitterMs?: number;
  /** TCP: the sender's smallest smoothed RTT (the path, without queueing), µs. */
  rttUs?: number;
  /** TCP: maximum segment size in bytes. */
  mss?: number;
  /** TCP: congestion control algorithm used. */
  congestion?: string;
  /** How many tries it took, where the server was busy at first. */
  attempts?: number;
  /**
   * UDP: datagrams the receiving socket's full buffer dropped (the lab's
   * UdpRcvbufErrors): lost to a receiver not scheduled in time, not to the path.
   */
  receiveBufferDrops?: number;
}

/** How often, and after how long, to try again when the server is busy. */
export interface BusyRetry {
  /** Tries in all, the first included. @default {4} */
  attempts: number;
  /** The wait before the second try; it doubles for each next one. @default {250} */
  firstDelayMs: number;
}

const DEFAULT_RETRY: BusyRetry = { attempts: 4, firstDelayMs: 250 };

/** Options for {@linkcode iperfRun}. */
export interface IperfOptions {
  server: string;
  /** The server's port. @default {5201} */
  port?: number;
  protocol: "tcp" | "udp";
  seconds: number;
  /** UDP sending rate, iperf3 syntax. @default {"100M"} */
  udpRate?: string;
  /** UDP datagram payload, bytes (iperf3 -l). @default {iperf3's: the path MTU less headers} */
  udpLength?: number;
  /** TCP congestion control (-C). */
  congestion?: string;
  /** Where the client runs; on the host when absent (a remote --server). */
  lab?: Lab;
  /** Retries when the server is busy. @default {{ attempts: 4, firstDelayMs: 250 }} */
  retry?: BusyRetry;
  /** Ends the run at once, with the reason, when the path to the server is gone (a lab path's `lost`). */
  signal?: AbortSignal;
}

/**
 * The UDP sender's sending time, s: its bytes over its own rate, which
 * iperf3 computes over the sending alone. Its summary's `seconds` runs to
 * the end of the test instead, like the receiver's, and that end comes
 * late when the control connection's last packets are lost on a lossy
 * path and wait for a retransmission (seen: 1.83 s for 1.00 s of sending).
 * The summary's seconds where bytes or rate are missing.
 *
 * @example
 * ```ts
 * import { sendingSeconds } from "./iperf.ts";
 * sendingSeconds({ sentBytes: 1_250_000, offered: 10e6, senderSeconds: 1.83 }); // 1
 * ```
 */
export function sendingSeconds(run: Pick<RunResult, "sentBytes" | "offered" | "senderSeconds">): number | undefined {
  return run.sentBytes! > 0 && run.offered! > 0 ? run.sentBytes! * 8 / run.offered! : run.senderSeconds;
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
    // With a receiver's summary beside it, end.sum is the sender's own.
    const sides = end.sum_received && end.sum
      ? {
        offered: end.sum.bits_per_second,
        sentDatagrams: end.sum.packets,
        sentBytes: end.sum.bytes,
        receivedBytes: end.sum_received.bytes,
        senderSeconds: end.sum.seconds,
        receiverSeconds: end.sum_received.seconds,
      }
      : undefined;
    const sending = sides && sendingSeconds(sides);
    return {
      protocol,
      goodput: sides?.receivedBytes !== undefined && sending! > 0
        ? sides.receivedBytes * 8 / sending!
        : received.bits_per_second,
      receiverRate: received.bits_per_second,
      ...sides,
      lossPercent: received.lost_percent ?? end.sum?.lost_percent,
      datagrams: received.packets ?? end.sum?.packets,
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

/**
 * Runs one iperf3 test against a server already listening; a busy server
 * is asked again with backoff (250 ms, 500 ms, 1 s by default). Throws
 * {@linkcode ToolError} with iperf3's own reason when the run fails.
 *
 * @example
 * ```ts ignore
 * const result = await iperfRun({ server: "198.18.0.2", protocol: "udp", seconds: 3, udpRate: "100M" });
 * console.log(result.goodput, result.lossPercent);
 * ```
 */
export async function iperfRun(options: IperfOptions): Promise<RunResult> {
  const { attempts, firstDelayMs } = options.retry ?? DEFAULT_RETRY;
  let delay = firstDelayMs;
  for (let attempt = 1;; attempt++) {
    try {
      const result = await iperfOnce(options);
      return attempt > 1 ? { ...result, attempts: attempt } : result;
    } catch (error) {
      if (!(error instanceof ToolError && BUSY.test(error.message))) throw error;
      if (attempt >= attempts) {
        throw new ToolError(
          "iperf3",
          "failed",
          `${error.message} (still busy after ${attempts} tries over ${
            (firstDelayMs * (2 ** (attempts - 1) - 1) / 1000).toFixed(2)
          } s)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay *= 2;
    }
  }
}

/** iperf3's words for a server running someone else's test. */
const BUSY = /server is busy/;

async function iperfOnce(options: IperfOptions): Promise<RunResult> {
  const args = ["-c", options.server, "-t", String(options.seconds), "-J"];
  if (options.port !== undefined) args.push("-p", String(options.port));
  if (options.protocol === "udp") {
    args.push("-u", "-b", options.udpRate ?? "100M");
    if (options.udpLength !== undefined) args.push("-l", String(options.udpLength));
  }
  if (options.protocol === "tcp" && options.congestion) {
    args.push("-C", options.congestion);
  }
  // iperf3 can hang when its set-up is lost: every run has a deadline.
  const limits = { timeoutMs: (options.seconds + 15) * 1000, signal: options.signal };
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

/**
 * Starts an iperf3 server in `lab` for exactly one test (`--one-off`): it
 * exits when the test is done, or after `idleSeconds` without a client, so
 * it never outlives the sweep that started it, even a killed one.
 */
export async function startIperfServer(
  lab: Lab,
  address: string,
  idleSeconds: number,
): Promise<ToolProcess> {
  // --forceflush: iperf3 buffers its output on a pipe, and we wait for a line of it.
  const server = lab.spawn(
    "iperf3",
    ["-s", "--one-off", "--idle-timeout", String(idleSeconds), "-B", address, "--forceflush"],
    { lifetimeMs: (idleSeconds + 30) * 1000 },
  );
  try {
    await server.waitForOutput(/Server listening/);
  } catch (error) {
    await server.stop("SIGTERM");
    throw error;
  }
  return server;
}
