/**
 * The experiment kind (kata 6): run the loss experiment (check, run), or a
 * practice session around it: predict, measure, explain. What is graded is
 * the sweep itself: its data must be sound before it is explained.
 *
 * @module
 */

import { fixedSubject, type Subject } from "../check/run.ts";
import { UsageError } from "../cli/errors.ts";
import { failedRuns, formatCrossover, formatMeasurement, saveSweep } from "../loss/report.ts";
import { runSweep, type SweepResult } from "../loss/sweep.ts";
import { drawProgress } from "../report/progress.ts";
import { type ExperimentContext, parseRate } from "../stages/experiment.ts";
import { Transcript } from "../tools/runner.ts";
import { cannotStart, expectNoMore, type KataFlags, printCheck, reportCannotStart } from "./common.ts";
import { experimentSession } from "./experiment_practice.ts";
import type { KataCommand, KataEntry, Kind } from "./kind.ts";

/** An experiment kata's catalog entry. */
export interface ExperimentKata extends KataEntry<"experiment", ExperimentContext> {
  /** The kit's own measuring probe (`--tool deno`), a file in the kata's folder. */
  probe: string;
}

/** The sweep the flags ask for, checked. */
interface Sweep {
  losses: number[];
  repeats: number;
  seconds: number;
  udpRateText: string;
  /** The UDP rate in bits/s. */
  udpRate: number;
  delayMs?: number;
  /** Bottleneck rate, tc syntax; undefined for none. */
  rate?: string;
  jitterMs?: number;
  /** Mean burst length of bursty loss, packets; random loss when undefined. */
  burstPackets?: number;
  link: "auto" | "netem" | "kit" | "nftables";
  /** TCP congestion control, on the lab's route and iperf3's -C. */
  congestion?: string;
  tool: "iperf3" | "deno";
}

/**
 * The path the sweep shapes by default: 20 ms each way (a 40 ms round trip,
 * a continent away) and a 100 Mbit/s bottleneck. Without a real RTT, TCP
 * recovers from loss in microseconds and nothing collapses: the veth's
 * 0.06 ms made TCP move 873 Mbit/s at 5 % loss.
 */
const DEFAULT_PATH = { delayMs: 20, rate: "100mbit", udpRate: "90M" };
/**
 * A loss-based congestion control by default, the kind the models describe:
 * BBR (this machine's default) does not slow down for random loss at all.
 */
const DEFAULT_CONGESTION = "cubic";

/** Reads and checks the experiment's flags; a usage error names the first bad one. */
function sweepFromFlags(flags: KataFlags): Sweep {
  const losses = (flags.loss ?? "0,1,5,10").split(",").map((text) => Number(text.trim()));
  if (losses.some((loss) => !Number.isFinite(loss) || loss < 0 || loss > 100)) {
    throw new UsageError(
      `--loss takes per cents from 0 to 100, separated by commas, not "${flags.loss}"`,
    );
  }
  const repeats = Number(flags.repeats ?? 3);
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 20) {
    throw new UsageError("--repeats takes 1 to 20");
  }
  const seconds = Number(flags.seconds ?? 3);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 60) {
    throw new UsageError("--seconds takes 1 to 60");
  }
  const udpRateText = flags["udp-rate"] ?? DEFAULT_PATH.udpRate;
  const udpRate = parseRate(udpRateText);
  if (udpRate === undefined) {
    throw new UsageError(
      `--udp-rate takes an iperf3 rate such as 100M, not "${udpRateText}"`,
    );
  }
  const link = flags.link ?? "auto";
  if (!["auto", "netem", "kit", "nftables"].includes(link)) {
    throw new UsageError(`--link is netem, kit or nftables, not "${link}"`);
  }
  const shaped = [flags.delay, flags.rate, flags.link, flags.jitter, flags.burst].some((flag) => flag !== undefined);
  if (flags.server && shaped) {
    throw new UsageError(
      "--delay, --rate, --jitter, --burst and --link shape the kit's own lab; with --server, shape the path yourself",
    );
  }
  // nftables only drops: the default path's delay and rate are not asked of it (asking says so).
  const defaults = link === "nftables" || flags.server ? { delayMs: 0, rate: "0" } : DEFAULT_PATH;
  const delayMs = Number(flags.delay ?? defaults.delayMs);
  if (!(delayMs >= 0 && delayMs <= 10_000)) {
    throw new UsageError(`--delay takes milliseconds from 0 to 10000, not "${flags.delay}"`);
  }
  const rate = flags.rate ?? defaults.rate;
  if (rate !== "0" && !/^\d+(\.\d+)?[kmg]?bit$/i.test(rate)) {
    throw new UsageError(`--rate takes a tc rate such as 100mbit (0 for none), not "${flags.rate}"`);
  }
  const tool = flags.tool ?? "iperf3";
  if (tool !== "iperf3" && tool !== "deno") {
    throw new UsageError(`--tool is iperf3 or deno, not "${tool}"`);
  }
  if (tool === "deno" && flags.server) {
    throw new UsageError(
      "--tool deno runs inside the kit's own lab; --server is for iperf3",
    );
  }
  const jitterMs = Number(flags.jitter ?? 0);
  if (!(jitterMs >= 0 && jitterMs <= 1000)) {
    throw new UsageError(`--jitter takes milliseconds from 0 to 1000, not "${flags.jitter}"`);
  }
  const burstPackets = flags.burst === undefined ? undefined : Number(flags.burst);
  if (burstPackets !== undefined && !(burstPackets >= 1 && burstPackets <= 1000)) {
    throw new UsageError(`--burst takes a mean burst length of 1 to 1000 packets, not "${flags.burst}"`);
  }
  // Against a remote server, the kit applies nothing: the system's own.
  const congestion = flags.cc ?? (flags.server ? undefined : DEFAULT_CONGESTION);
  return {
    losses,
    repeats,
    seconds,
    udpRateText,
    udpRate,
    delayMs: delayMs || undefined,
    rate: rate === "0" ? undefined : rate,
    jitterMs: jitterMs || undefined,
    burstPackets,
    link: link as Sweep["link"],
    congestion,
    tool,
  };
}

/** Runs the sweep and saves it under the logs; returns the result and the files written. */
async function measure(
  kata: ExperimentKata,
  { flags, logs }: KataCommand,
  sweep: Sweep,
): Promise<{ result: SweepResult; files: string[] }> {
  const json = flags.json ?? false;
  const transcript = new Transcript((line) => json || Deno.stderr.isTerminal() || console.error(line));
  const result = await runSweep({
    losses: sweep.losses,
    repeats: sweep.repeats,
    seconds: sweep.seconds,
    udpRate: sweep.udpRateText,
    congestion: sweep.congestion,
    delayMs: sweep.delayMs,
    rate: sweep.rate,
    jitterMs: sweep.jitterMs,
    burstPackets: sweep.burstPackets,
    link: sweep.link,
    server: flags.server,
    tool: sweep.tool,
    probe: decodeURIComponent(new URL(kata.probe, kata.directory).pathname),
    transcript,
    onProgress: json ? undefined : drawProgress,
  });
  const stem = await logs.timestamped(kata);
  return { result, files: await saveSweep(result, stem, transcript.lines) };
}

/** The sweep's tables, for people. */
function printSweep(result: SweepResult, files: string[]): void {
  if (result.notice) console.log(result.notice);
  console.log(`\n${formatMeasurement(result)}\n`);
  const crossover = formatCrossover(result);
  if (crossover) console.log(crossover);
  if (result.applied) {
    console.log(`Shaped by: ${Object.entries(result.applied).map(([option, by]) => `${option} ${by}`).join(", ")}.`);
  }
  console.log(
    result.rttUs && result.mss
      ? `TCP congestion control: ${result.congestion ?? "unknown"}; path RTT ${
        (result.rttUs / 1000).toFixed(1)
      } ms (${result.rttSource}); MSS ${result.mss} bytes (for the models).`
      : "No path RTT (iperf3's TCP report, or --delay): no model estimates without it.",
  );
  console.log(`Saved: ${files.join(", ")}`);
}

/**
 * The subject for a finished sweep, sent at `udpRate` bits/s: the same data
 * for every stage.
 *
 * @example
 * ```ts ignore
 * import { sweepSubject } from "./experiment.ts";
 * const subject = sweepSubject("logs/06-tcp-vs-udp/2026-11-27T01-18-46.json", result, 100e6);
 * ```
 */
export function sweepSubject(label: string, result: SweepResult, udpRate: number): Subject<ExperimentContext> {
  return fixedSubject(label, { result, udpRate });
}

/** Measures and prints the sweep (`run`), then grades it (`check`). */
async function measureAndGrade(kata: ExperimentKata, command: KataCommand, grade: boolean): Promise<number> {
  expectNoMore(command.rest, grade ? "check" : "run");
  const sweep = sweepFromFlags(command.flags);
  const json = command.flags.json ?? false;
  let measured;
  try {
    measured = await measure(kata, command, sweep);
  } catch (error) {
    if (!cannotStart(error)) throw error;
    reportCannotStart(kata, error.message, json);
    return 1;
  }
  const { result, files } = measured;
  if (!json) printSweep(result, files);
  if (!grade) {
    if (json) console.log(JSON.stringify(result, null, 2));
    // Saved all the same, but a sweep with failed runs is not a success.
    return failedRuns(result).length > 0 ? 1 : 0;
  }
  if (!json) console.log();
  return await printCheck(kata, () => Promise.resolve(sweepSubject(files[0], result, sweep.udpRate)), {
    json,
    extras: () => ({ json: { result } }),
  });
}

/** The experiment kind. */
export const experimentKind: Kind<ExperimentKata> = {
  flags: {
    loss: { type: "string" },
    repeats: { type: "string" },
    seconds: { type: "string" },
    "udp-rate": { type: "string" },
    cc: { type: "string" },
    server: { type: "string" },
    tool: { type: "string" },
    delay: { type: "string" },
    rate: { type: "string" },
    link: { type: "string" },
    jitter: { type: "string" },
    burst: { type: "string" },
  },
  wrongFlag: (kata, flag) => `Kata ${kata.number} runs an experiment; --${flag} does not apply (see --help)`,
  help: (kata) => ({
    practice: "practice: predict, measure, explain in one paragraph",
    commands:
      `  deno task kata:${kata.number} run                run the loss sweep: table, JSON, CSV, SVG chart in logs/`,
    targets: `Experiment (check runs it and checks the data is sound):
  --loss 0,1,5,10      loss levels in per cent
  --repeats 3          runs per level and protocol (median, min–max)
  --seconds 3          length of each run
  --udp-rate 90M       UDP's offered rate (iperf3 syntax)
  --cc cubic           TCP congestion control (both tools: set on the lab's route)
  --tool iperf3|deno   who measures bulk goodput: iperf3, or the kit's ${kata.probe}
  --server HOST        an iperf3 server you run elsewhere (no shaping here)
  --delay 20           one-way delay, ms, each direction (a 40 ms round trip)
  --rate 100mbit       bottleneck rate, each direction (0: none)
  --jitter MS          jitter, each direction (the kit's emulator keeps order)
  --burst N            bursty loss (Gilbert–Elliott), bursts of N packets on
                       average, at the same loss rate
  --link netem|kit|nftables  who shapes: netem, the kit's own emulator (TUN),
                       or nftables (loss only); default netem where the
                       kernel has it, else the kit's emulator`,
  }),
  practice: async (kata, command) => {
    expectNoMore(command.rest, "practice");
    const sweep = sweepFromFlags(command.flags);
    await experimentSession({
      kata,
      card: command.card,
      logs: command.logs,
      losses: sweep.losses,
      measure: () => measure(kata, command, sweep),
      annotate: async (file, extra) => {
        const saved = JSON.parse(await Deno.readTextFile(file));
        await Deno.writeTextFile(
          file,
          JSON.stringify({ ...saved, ...extra }, null, 2) + "\n",
        );
      },
    });
    return 0;
  },
  run: (kata, command) => measureAndGrade(kata, command, false),
  check: (kata, command) => measureAndGrade(kata, command, true),
};
