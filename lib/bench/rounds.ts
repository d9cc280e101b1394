/**
 * Interleaved rounds, the shape every benchmark of the kit shares.
 *
 * On a shared machine speed drifts by tens of percent within a minute
 * (another process wakes up, a core's clock changes): measuring A for a
 * minute and then B compares two moments, not two programs. So every
 * contender is measured once per round, round after round — A, B, C, A, B,
 * C, … — and each figure is reported as its median over the rounds with its
 * min–max. A ratio (B against A) is taken within each round, where A and B
 * ran seconds apart under the same conditions, and then summarised the same
 * way. The machine's load average before and after goes with the figures,
 * so that a reader can tell a quiet run from a busy one.
 *
 * The whole API: {@linkcode interleave} runs the rounds;
 * {@linkcode summarizeRounds} summarises them (or, one figure at a time,
 * {@linkcode figureSpread} and {@linkcode ratioSpread});
 * {@linkcode formatSpread} and {@linkcode formatRatio} print a summary;
 * {@linkcode loadAverage} and {@linkcode formatLoad} describe the machine.
 *
 * @example
 * ```ts
 * import { formatRatio, formatSpread, interleave, summarizeRounds } from "./rounds.ts";
 *
 * // Run and time the tool here; a failure goes in `error`, not in a throw.
 * const timeIt = async (tool: string, round: number) => ({ tool, round, seconds: tool === "tcpdump" ? 1 : 2 });
 * const measurements = (await interleave(["tcpdump", "tshark"], 3, timeIt)).flat();
 * const [, tshark] = summarizeRounds(measurements, {
 *   contender: (m) => m.tool,
 *   figures: { seconds: (m) => m.seconds },
 *   baseline: "tcpdump",
 *   ratios: ["seconds"],
 * });
 * console.log(formatSpread(tshark.figures.seconds, (s) => s.toFixed(2), " s")); // "2.00 s (2.00–2.00)"
 * console.log(formatRatio(tshark.vsBaseline.seconds)); // "2.00× (2.00–2.00)"
 * ```
 *
 * @module
 */

/** One figure over the rounds: its median, its smallest and largest value, and how many rounds had one. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Rounds that produced the figure (a failed measurement produces none). */
  rounds: number;
}

/**
 * The median and range of `values`; undefined when there are none. The
 * median of an even count is the mean of the two middle values.
 *
 * @example
 * ```ts
 * import { spread } from "./rounds.ts";
 * spread([3, 1, 2]); // { median: 2, min: 1, max: 3, rounds: 3 }
 * ```
 */
export function spread(values: readonly number[]): Spread | undefined {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1)!, rounds: sorted.length };
}

/**
 * Measures every contender once per round, in order, for `rounds` rounds:
 * A, B, C, A, B, C, … Returns the measurements by round, then by
 * contender: `result[round][contender]`. `measure` gets the contender and
 * the round's number (from 1); it should report a failure in its result
 * rather than throw, so that one bad round does not lose the others.
 *
 * @example
 * ```ts
 * import { interleave } from "./rounds.ts";
 * const order: string[] = [];
 * await interleave(["A", "B"], 2, async (name, round) => order.push(`${name}${round}`));
 * // order is ["A1", "B1", "A2", "B2"]
 * ```
 */
export async function interleave<C, M>(
  contenders: readonly C[],
  rounds: number,
  measure: (contender: C, round: number) => Promise<M>,
): Promise<M[][]> {
  const results: M[][] = [];
  for (let round = 1; round <= rounds; round++) {
    const row: M[] = [];
    for (const contender of contenders) row.push(await measure(contender, round));
    results.push(row);
  }
  return results;
}

/**
 * One contender's figure over all rounds. `figure` returns undefined for a
 * round without one (a failed run).
 *
 * @example
 * ```ts
 * import { figureSpread } from "./rounds.ts";
 * figureSpread([[{ rate: 10 }], [{ rate: 14 }], [{ rate: 12 }]], 0, (m) => m.rate); // median 12, 10–14
 * ```
 */
export function figureSpread<M>(
  rounds: readonly (readonly M[])[],
  contender: number,
  figure: (measurement: M) => number | undefined,
): Spread | undefined {
  return spread(rounds.map((row) => figure(row[contender])).filter((value) => value !== undefined));
}

/**
 * `contender`'s figure divided by `baseline`'s, taken within each round and
 * then summarised; rounds where either has no figure, or the baseline's is
 * zero, are left out.
 *
 * @example
 * ```ts
 * import { ratioSpread } from "./rounds.ts";
 * const rounds = [[{ rate: 10 }, { rate: 9 }], [{ rate: 20 }, { rate: 19 }]];
 * ratioSpread(rounds, 1, 0, (m) => m.rate); // median 0.925, 0.9–0.95: the drift between rounds cancels
 * ```
 */
export function ratioSpread<M>(
  rounds: readonly (readonly M[])[],
  contender: number,
  baseline: number,
  figure: (measurement: M) => number | undefined,
): Spread | undefined {
  const ratios: number[] = [];
  for (const row of rounds) {
    const [ours, base] = [figure(row[contender]), figure(row[baseline])];
    if (ours !== undefined && base !== undefined && base !== 0) ratios.push(ours / base);
  }
  return spread(ratios);
}

/** What {@linkcode summarizeRounds} needs of a measurement: its round, and why it failed, if it did. */
export interface RoundMeasurement {
  /** From 1. */
  round: number;
  /** Set when the measurement failed: it then has no figures. */
  error?: string;
}

/** One contender over all rounds. */
export interface ContenderSummary<F extends string> {
  contender: string;
  /** Each figure's spread over the rounds that worked. */
  figures: Record<F, Spread | undefined>;
  /** Each ratio figure against the baseline contender, taken within each round. */
  vsBaseline: Partial<Record<F, Spread>>;
  /** The rounds that failed, as "round N: why". */
  failures: string[];
}

/** Options for {@linkcode summarizeRounds}. */
export interface SummarizeOptions<M, F extends string> {
  /** Whose measurement it is. */
  contender: (measurement: M) => string;
  /** The figures to summarise; each returns undefined where a measurement has none. */
  figures: Record<F, (measurement: M) => number | undefined>;
  /** The contender the others are compared with. @default {undefined: no ratios} */
  baseline?: string;
  /** The figures compared with the baseline's. @default {[]} */
  ratios?: readonly NoInfer<F>[];
}

/**
 * Summarises measurements made by {@linkcode interleave} (any order; each
 * names its round): per contender, in order of first appearance, each
 * figure's median and min–max, and the chosen figures against the
 * baseline's within each round. A failed measurement (`error` set)
 * contributes no figure.
 *
 * @example
 * ```ts
 * import { summarizeRounds } from "./rounds.ts";
 * const measurements = [
 *   { tool: "A", round: 1, rate: 10 }, { tool: "B", round: 1, rate: 5 },
 *   { tool: "A", round: 2, rate: 20 }, { tool: "B", round: 2, rate: 11 },
 * ];
 * const [, b] = summarizeRounds(measurements, {
 *   contender: (m) => m.tool,
 *   figures: { rate: (m) => m.rate },
 *   baseline: "A",
 *   ratios: ["rate"],
 * });
 * // b.figures.rate: median 8, 5–11; b.vsBaseline.rate: median 0.525, 0.5–0.55
 * ```
 */
export function summarizeRounds<M extends RoundMeasurement, F extends string>(
  measurements: readonly M[],
  options: SummarizeOptions<M, F>,
): ContenderSummary<F>[] {
  const contenders = [...new Set(measurements.map(options.contender))];
  const rounds = [...new Set(measurements.map((m) => m.round))].map((round) =>
    contenders.map((name) => measurements.find((m) => m.round === round && options.contender(m) === name))
  );
  const base = options.baseline === undefined ? -1 : contenders.indexOf(options.baseline);
  const names = Object.keys(options.figures) as F[];
  return contenders.map((contender, index) => {
    const read = (name: F) => (m: M | undefined) => m && !m.error ? options.figures[name](m) : undefined;
    return {
      contender,
      figures: Object.fromEntries(names.map((name) => [name, figureSpread(rounds, index, read(name))])) as Record<
        F,
        Spread | undefined
      >,
      vsBaseline: base === -1 ? {} : Object.fromEntries(
        (options.ratios ?? []).map((name) => [name, ratioSpread(rounds, index, base, read(name))]),
      ) as Partial<Record<F, Spread>>,
      failures: measurements.filter((m) => options.contender(m) === contender && m.error)
        .map((m) => `round ${m.round}: ${m.error}`),
    };
  });
}

/**
 * "median (min–max)", each number through `format`, the unit once after
 * the median; the median alone for one round, "–" for none.
 *
 * @example
 * ```ts
 * import { formatSpread } from "./rounds.ts";
 * formatSpread({ median: 12, min: 10, max: 14, rounds: 3 }, (n) => n.toFixed(0), " MiB"); // "12 MiB (10–14)"
 * ```
 */
export function formatSpread(
  summary: Spread | undefined,
  format: (value: number) => string = (value) => Math.round(value).toLocaleString("en-US"),
  unit = "",
): string {
  if (!summary) return "–";
  if (summary.rounds === 1) return `${format(summary.median)}${unit}`;
  return `${format(summary.median)}${unit} (${format(summary.min)}–${format(summary.max)})`;
}

/**
 * A ratio's spread as "0.91× (0.85–0.97)".
 *
 * @example
 * ```ts
 * import { formatRatio } from "./rounds.ts";
 * formatRatio({ median: 0.91, min: 0.85, max: 0.97, rounds: 3 }); // "0.91× (0.85–0.97)"
 * ```
 */
export function formatRatio(summary: Spread | undefined): string {
  if (!summary) return "–";
  const ratio = (value: number) => value.toFixed(2);
  return summary.rounds === 1
    ? `${ratio(summary.median)}×`
    : `${ratio(summary.median)}× (${ratio(summary.min)}–${ratio(summary.max)})`;
}

/**
 * The machine's load average over 1, 5 and 15 minutes, or undefined where
 * it cannot be read (it needs `--allow-sys=loadavg`, which `deno task
 * bench` has).
 *
 * @example
 * ```ts
 * import { loadAverage } from "./rounds.ts";
 * loadAverage(); // e.g. [1.52, 1.8, 1.66]
 * ```
 */
export function loadAverage(): [number, number, number] | undefined {
  if (Deno.permissions.querySync({ name: "sys", kind: "loadavg" }).state !== "granted") return undefined;
  const [one, five, fifteen] = Deno.loadavg();
  return [one, five, fifteen];
}

/**
 * The load average before and after a run, in one line for the report.
 *
 * @example
 * ```ts
 * import { formatLoad } from "./rounds.ts";
 * formatLoad([0.5, 0.7, 0.9], [2.1, 1.1, 1]); // "load average 0.50 0.70 0.90 before, 2.10 1.10 1.00 after"
 * ```
 */
export function formatLoad(
  before: readonly number[] | undefined,
  after: readonly number[] | undefined,
): string {
  if (!before || !after) return "load average unknown (needs --allow-sys=loadavg)";
  const line = (load: readonly number[]) => load.map((value) => value.toFixed(2)).join(" ");
  return `load average ${line(before)} before, ${line(after)} after`;
}
