/**
 * Models of TCP under loss, to set the measurements against, and where
 * TCP's goodput falls below UDP's. Models are models: they say what a
 * formula predicts from the path's RTT and MSS, not what was measured.
 *
 * @module
 */

/**
 * The Mathis et al. estimate of TCP throughput under random loss:
 * MSS / (RTT · √p), in bits per second (the constant C ≈ 1.22 left out, as
 * the kata asks). Undefined without loss: the formula has no limit there.
 *
 * @example
 * ```ts
 * import { mathisEstimate } from "./models.ts";
 * mathisEstimate(1448, 0.04, 0.01); // ≈ 2.9 Mbit/s
 * ```
 */
export function mathisEstimate(mssBytes: number, rttSeconds: number, lossFraction: number): number | undefined {
  if (lossFraction <= 0 || rttSeconds <= 0) return undefined;
  return (mssBytes * 8) / (rttSeconds * Math.sqrt(lossFraction));
}

/** What the Padhye model needs besides MSS, RTT and loss. */
export interface PadhyeOptions {
  /** The retransmission timeout, s. Linux: RTT + 200 ms at least (tcp_rto_min). @default {rtt + 0.2} */
  rtoSeconds?: number;
  /** Segments acknowledged by one ACK (delayed ACKs: 2). @default {2} */
  segmentsPerAck?: number;
  /** The most the path carries, bits/s (the bottleneck): the model's ceiling. */
  ceilingBps?: number;
}

/**
 * Padhye et al. (1998), TCP throughput with retransmission timeouts: the
 * Mathis term plus the time lost waiting for timeouts, which dominates as
 * loss grows (a lost retransmission, or too few duplicate ACKs to
 * retransmit fast, means waiting a whole RTO):
 *
 *   B(p) = MSS / (RTT·√(2bp/3) + T0 · min(1, 3·√(3bp/8)) · p · (1 + 32p²))
 *
 * in bits per second. Undefined without loss.
 *
 * @example
 * ```ts
 * import { padhyeEstimate } from "./models.ts";
 * padhyeEstimate(1448, 0.04, 0.1); // ≈ 0.3 Mbit/s: timeouts dominate
 * ```
 */
export function padhyeEstimate(
  mssBytes: number,
  rttSeconds: number,
  lossFraction: number,
  options: PadhyeOptions = {},
): number | undefined {
  if (lossFraction <= 0 || rttSeconds <= 0) return undefined;
  const p = lossFraction;
  const b = options.segmentsPerAck ?? 2;
  const rto = options.rtoSeconds ?? rttSeconds + 0.2;
  const seconds = rttSeconds * Math.sqrt((2 * b * p) / 3) +
    rto * Math.min(1, 3 * Math.sqrt((3 * b * p) / 8)) * p * (1 + 32 * p * p);
  const bps = (mssBytes * 8) / seconds;
  return options.ceilingBps === undefined ? bps : Math.min(bps, options.ceilingBps);
}

/** Where TCP becomes the worse choice, read from measurements. */
export interface Crossover {
  /** The loss, per cent, where the two lines cross (interpolated), if they do within the levels measured. */
  lossPercent?: number;
  /** The two levels measured around it. */
  between?: [number, number];
  /** In words: "TCP delivers less than UDP between 0% and 1% loss (about 0.2%)". */
  summary: string;
}

/**
 * The loss at which TCP stops doing at least as well as UDP, from measured
 * points (loss per cent, TCP's figure, UDP's figure; higher is better: pass
 * 1/time for times). Between two levels, the ratio TCP/UDP is interpolated
 * on log scales (goodput under loss goes as a power of the loss, a straight
 * line on log–log axes). Between 0 % and the first level there is no such
 * line (log 0): only the bracket is given, not a made-up figure.
 * `worse` completes "TCP … between 1% and 5%".
 *
 * @example
 * ```ts
 * import { findCrossover } from "./models.ts";
 * findCrossover([[0, 95e6, 90e6], [1, 5e6, 89e6]], "delivers less than UDP").between; // [0, 1]
 * ```
 */
export function findCrossover(
  points: readonly [loss: number, tcp: number, udp: number][],
  worse: string,
): Crossover {
  const usable = points.filter(([, tcp, udp]) => tcp > 0 && udp > 0).sort((a, b) => a[0] - b[0]);
  if (usable.length === 0) return { summary: "no level has both a TCP and a UDP measurement" };
  if (usable[0][1] < usable[0][2]) {
    return { lossPercent: usable[0][0], summary: `TCP ${worse} already at ${usable[0][0]}%, the lowest loss measured` };
  }
  for (let i = 1; i < usable.length; i++) {
    const [p0, tcp0, udp0] = usable[i - 1];
    const [p1, tcp1, udp1] = usable[i];
    if (tcp1 >= udp1) continue;
    const between: [number, number] = [p0, p1];
    if (p0 <= 0) return { between, summary: `TCP ${worse} between ${p0}% and ${p1}% loss` };
    const at = logLogCrossing(p0, Math.log(tcp0 / udp0), p1, Math.log(tcp1 / udp1));
    return {
      lossPercent: at,
      between,
      summary: `TCP ${worse} between ${p0}% and ${p1}% loss (about ${at.toPrecision(2)}%)`,
    };
  }
  return { summary: `TCP never ${worse} up to ${usable.at(-1)![0]}%, the highest loss measured` };
}

/**
 * Where TCP's goodput collapses: the loss at which it falls to half of what
 * it was at the lowest loss measured (log-interpolated between levels).
 *
 * @example
 * ```ts
 * import { findCollapse } from "./models.ts";
 * findCollapse([[0, 90e6], [1, 10e6]]).between; // [0, 1]
 * ```
 */
export function findCollapse(points: readonly [loss: number, tcp: number][]): Crossover {
  const usable = points.filter(([, tcp]) => tcp > 0).sort((a, b) => a[0] - b[0]);
  if (usable.length < 2) return { summary: "needs two levels with TCP measured" };
  const half = usable[0][1] / 2;
  const at = usable.findIndex(([, tcp]) => tcp < half);
  if (at <= 0) return { summary: `TCP keeps over half its goodput up to ${usable.at(-1)![0]}%` };
  const [[p0, tcp0], [p1, tcp1]] = [usable[at - 1], usable[at]];
  const words = `TCP's goodput falls to half of its ${usable[0][0]}% figure between ${p0}% and ${p1}% loss`;
  if (p0 <= 0) return { between: [p0, p1], summary: words };
  const lossPercent = logLogCrossing(p0, Math.log(tcp0 / half), p1, Math.log(tcp1 / half));
  return { lossPercent, between: [p0, p1], summary: `${words} (about ${lossPercent.toPrecision(2)}%)` };
}

/** Where a quantity `f`, straight against log p, crosses 0 between (p0, f0) and (p1, f1); p0 > 0. */
function logLogCrossing(p0: number, f0: number, p1: number, f1: number): number {
  return Math.exp(Math.log(p0) + (Math.log(p1) - Math.log(p0)) * (f0 / (f0 - f1)));
}

/**
 * Where a model of TCP crosses UDP's `offeredBps × (1 − p)`, by bisection
 * over loss from 10⁻⁶ % to 50 %; undefined when it does not there.
 */
export function modelCrossover(
  tcp: (lossFraction: number) => number | undefined,
  offeredBps: number,
): number | undefined {
  const gap = (p: number) => (tcp(p) ?? Infinity) - offeredBps * (1 - p);
  let low = 1e-8;
  let high = 0.5;
  if (gap(low) < 0 || gap(high) > 0) return undefined;
  for (let i = 0; i < 60; i++) {
    const middle = Math.sqrt(low * high);
    if (gap(middle) > 0) low = middle;
    else high = middle;
  }
  return high * 100;
}
