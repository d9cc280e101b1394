/**
 * What a fuzz run reports, whatever it fuzzed: `deno task fuzz` prints it,
 * the suite's bounded fuzz tests assert on it.
 *
 * @module
 */

/** The outcome of one fuzz run. */
export interface FuzzSummary {
  /** "http" or "pcap". */
  target: string;
  /** The seed that reproduces this run exactly. */
  seed: number;
  /** Inputs sent (requests) or read (captures). */
  cases: number;
  /** Cases that crashed the subject (a dead server, an uncaught exception). */
  crashes: number;
  /** Cases that got no answer within their deadline. */
  hangs: number;
  /** Cases whose answer broke a stated property, other than crash or hang. */
  violations: number;
  /** Up to 20 failing cases, each reproducible: what was sent and what went wrong. */
  failures: { case: number; input: string; problem: string }[];
  /** Resident set size of the subject before and after, in bytes (undefined where unknown). */
  rssBefore?: number;
  rssAfter?: number;
  /** Wall time of the run in milliseconds. */
  elapsedMs: number;
}
