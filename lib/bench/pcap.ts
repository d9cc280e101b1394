/**
 * The pcap benchmark: the kit's reader and annotator (text and `--json`)
 * against `tcpdump -nn -r` and `tshark -T fields` on the same large
 * capture, each writing its whole output to a file.
 *
 * The machine is shared and noisy, so one run of each says little: the
 * contenders run in interleaved rounds (A, B, C, D, A, B, …), every figure
 * and every ratio is taken within a round, and the report gives the median
 * with the range, and the load average before and after: the shape of
 * every benchmark of the kit, from `rounds.ts`.
 *
 * @module
 */

import { formatTable } from "../report/table.ts";
import { memory } from "../tools/process_stats.ts";
import {
  type ContenderSummary,
  formatLoad,
  formatRatio,
  formatSpread,
  interleave,
  loadAverage,
  ratioSpread,
  type Spread,
  summarizeRounds,
} from "./rounds.ts";

/** One program in the comparison. */
export interface PcapContender {
  name: string;
  /** Program and arguments; stdout goes to a file. */
  argv: string[];
}

/** One run of one contender in one round. */
export interface PcapRun {
  contender: string;
  /** 1-based. */
  round: number;
  seconds: number;
  packetsPerSecond: number;
  /** Peak resident memory in bytes (the kernel's count where GNU time is installed, else sampled). */
  peakRss?: number;
  error?: string;
}

/** What the rounds found. */
export interface PcapBenchResult {
  packets: number;
  rounds: number;
  /** The 1, 5 and 15-minute load average before the first round and after the last (needs --allow-sys=loadavg). */
  loadBefore?: number[];
  loadAfter?: number[];
  /** The commands, as run (stdout to a file). */
  commands: Record<string, string>;
  runs: PcapRun[];
  /** Per contender: seconds, packets/s and peak RSS over the rounds that succeeded (none where every round failed). */
  figures: Record<string, ContenderSummary<PcapFigure>["figures"]>;
  /** "netkata text vs tcpdump": how many times as fast, computed within each round. */
  ratios: Record<string, Spread>;
}

/** Options for {@linkcode runPcapBench}. */
export interface PcapBenchOptions {
  capture: string;
  packets: number;
  outputDirectory: string;
  /** Interleaved rounds. @default {3} */
  rounds?: number;
  /** The kit's two contenders: the pcap task's command line (see {@linkcode pcapTaskCommand}). */
  netkata: string[];
  onRun?: (run: PcapRun) => void;
}

/** The figures a run measures. */
type PcapFigure = "seconds" | "packetsPerSecond" | "peakRss";

const TEXT = "netkata text";
const JSON_OUTPUT = "netkata --json";
const TCPDUMP = "tcpdump -nn -r";
const TSHARK = "tshark -T fields";

/**
 * The same capture through the kit (text and JSON), tcpdump and tshark, in
 * interleaved rounds.
 *
 * @example
 * ```ts ignore
 * import { pcapTaskCommand, runPcapBench } from "./pcap.ts";
 * const result = await runPcapBench({
 *   capture: "big.pcap",
 *   packets: 1_000_040,
 *   outputDirectory: "/tmp",
 *   netkata: await pcapTaskCommand(),
 * });
 * console.log(result.ratios["netkata text vs tcpdump"].median);
 * ```
 */
export async function runPcapBench(options: PcapBenchOptions): Promise<PcapBenchResult> {
  const { capture, packets, rounds = 3 } = options;
  const contenders: PcapContender[] = [
    { name: TEXT, argv: [...options.netkata, capture, "--no-tshark"] },
    { name: JSON_OUTPUT, argv: [...options.netkata, capture, "--json"] },
    { name: TCPDUMP, argv: ["tcpdump", "-nn", "-r", capture] },
    { name: TSHARK, argv: ["tshark", "-r", capture, "-T", "fields", ...TSHARK_FIELDS.flatMap((f) => ["-e", f])] },
  ];
  // Read once before the first round: no contender pays for the disk.
  await Deno.readFile(capture);
  const timeCommand = await gnuTime();
  const outputOf = (contender: PcapContender) =>
    `${options.outputDirectory}/${contender.name.replace(/\W+/g, "-")}.out`;
  const loadBefore = loadAverage();
  const byRound = await interleave(contenders, rounds, async (contender, round) => {
    const run = await measure(contender, outputOf(contender), packets, round, timeCommand);
    options.onRun?.(run);
    return run;
  });
  const loadAfter = loadAverage();
  for (const contender of contenders) await Deno.remove(outputOf(contender)).catch(() => {});
  const runs = byRound.flat();
  const summaries = summarizeRounds(runs, {
    contender: (run) => run.contender,
    figures: {
      seconds: (run) => run.seconds,
      packetsPerSecond: (run) => run.packetsPerSecond,
      peakRss: (run) => run.peakRss,
    },
  });
  return {
    packets,
    rounds,
    loadBefore,
    loadAfter,
    commands: Object.fromEntries(contenders.map((c) => [c.name, `${c.argv.join(" ")} > FILE`])),
    runs,
    figures: Object.fromEntries(summaries.map((summary) => [summary.contender, summary.figures])),
    ratios: ratiosOf(byRound, contenders.map((c) => c.name)),
  };
}

const TSHARK_FIELDS = [
  "frame.number",
  "frame.time_relative",
  "ip.src",
  "tcp.srcport",
  "ip.dst",
  "tcp.dstport",
  "tcp.flags.str",
  "tcp.seq",
  "tcp.ack",
  "tcp.len",
];

/**
 * The command `deno task pcap` runs, from deno.json, with this Deno and
 * the task file's full path: the benchmark measures what the learner runs,
 * V8 flags included.
 *
 * @example
 * ```ts ignore
 * import { pcapTaskCommand } from "./pcap.ts";
 * console.log(await pcapTaskCommand()); // [ "/usr/bin/deno", "run", "--v8-flags=…", …, "/…/tasks/pcap.ts" ]
 * ```
 */
export async function pcapTaskCommand(): Promise<string[]> {
  const root = decodeURIComponent(new URL("../../", import.meta.url).pathname);
  const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  const task = config.tasks?.pcap;
  const command: unknown = typeof task === "string" ? task : task?.command;
  if (typeof command !== "string" || !/^deno run [^'"|&;<>$]*tasks\/pcap\.ts$/.test(command)) {
    throw new SyntaxError(
      `Cannot read the pcap task in deno.json: "deno run … tasks/pcap.ts" expected, not ${command}`,
    );
  }
  return command.split(/\s+/).map((word, i) =>
    i === 0 ? Deno.execPath() : word === "tasks/pcap.ts" ? `${root}tasks/pcap.ts` : word
  );
}

/** GNU time's path, where it is installed: it reads the peak RSS from the kernel when the process ends. */
async function gnuTime(): Promise<string | undefined> {
  try {
    const { success } = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%M", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? "/usr/bin/time" : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs one contender with stdout to `output`, and measures wall time and
 * peak memory. The shell redirects stdout to the file itself, as a user's
 * `> file` would: piping it through the benchmark would spend the
 * benchmark's CPU, on the same two cores, inside every measurement.
 */
async function measure(
  contender: PcapContender,
  output: string,
  packets: number,
  round: number,
  timeCommand: string | undefined,
): Promise<PcapRun> {
  const failed = (error: string, seconds = 0): PcapRun => ({
    contender: contender.name,
    round,
    seconds,
    packetsPerSecond: 0,
    error,
  });
  // A large output left from the last round would be truncated inside the measured time.
  await Deno.remove(output).catch(() => {});
  const stats = `${output}.rss`;
  const redirected = ["sh", "-c", 'exec "$@" > "$0"', output, ...contender.argv];
  const argv = timeCommand ? [timeCommand, "-f", "%M", "-o", stats, ...redirected] : redirected;
  const started = performance.now();
  const child = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
  const stderr = new Response(child.stderr).text();
  let sampled: number | undefined;
  let running = !timeCommand;
  const sampling = (async () => {
    // Without GNU time: VmHWM from /proc every 200 ms (it only grows; the last moments may be missed).
    while (running) {
      const now = (await memory(child.pid)).peak;
      if (now !== undefined) sampled = Math.max(sampled ?? 0, now);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const status = await child.status;
  const seconds = (performance.now() - started) / 1000;
  running = false;
  await sampling;
  const complaint = (await stderr).trim().split("\n").filter((line) => !line.startsWith("reading from file")).at(-1);
  if (!status.success) {
    return failed(
      status.code === 127 ? `${contender.argv[0]} is not installed` : complaint ?? `exit ${status.code}`,
      seconds,
    );
  }
  let peakRss = sampled;
  if (timeCommand) {
    const kib = Number((await Deno.readTextFile(stats)).trim().split("\n").at(-1));
    await Deno.remove(stats).catch(() => {});
    if (kib > 0) peakRss = kib * 1024;
  }
  return { contender: contender.name, round, seconds, packetsPerSecond: packets / seconds, peakRss };
}

/**
 * How many times as fast the kit is: their seconds over ours, each ratio
 * taken within one round (its runs seconds apart, not minutes).
 */
function ratiosOf(byRound: PcapRun[][], names: string[]): Record<string, Spread> {
  const seconds = (run: PcapRun) => run.error ? undefined : run.seconds;
  const ratios: Record<string, Spread> = {};
  for (const ours of [TEXT, JSON_OUTPUT]) {
    for (const theirs of [TCPDUMP, TSHARK]) {
      const ratio = ratioSpread(byRound, names.indexOf(theirs), names.indexOf(ours), seconds);
      if (ratio) ratios[`${ours} vs ${theirs}`] = ratio;
    }
  }
  return ratios;
}

/**
 * The figures as tables: medians with their range, the ratios, the load.
 *
 * @example
 * ```ts ignore
 * import { formatPcapBench, runPcapBench } from "./pcap.ts";
 * console.log(formatPcapBench(await runPcapBench(options)));
 * ```
 */
export function formatPcapBench(result: PcapBenchResult): string {
  const errors = (name: string) => result.runs.filter((r) => r.contender === name && r.error).map((r) => r.error);
  const figures = formatTable(
    ["tool", "seconds", "packets/s (median)", "peak RSS, MiB", "failed rounds"],
    Object.entries(result.figures).map(([name, f]) => [
      name,
      formatSpread(f.seconds, (seconds) => seconds.toFixed(2)),
      f.packetsPerSecond ? Math.round(f.packetsPerSecond.median).toLocaleString("en-US") : "–",
      formatSpread(f.peakRss, (bytes) => (bytes / 2 ** 20).toFixed(1)),
      errors(name).length === 0 ? "" : `${errors(name).length}: ${errors(name)[0]}`,
    ]),
  );
  const ratios = formatTable(
    ["netkata is", "times as fast (median, min–max)"],
    Object.entries(result.ratios).map(([name, ratio]) => [name, formatRatio(ratio)]),
  );
  return [
    `${result.packets.toLocaleString("en-US")} packets, ${result.rounds} interleaved rounds ` +
    `(${Object.keys(result.figures).join(", ")}; then again)`,
    formatLoad(result.loadBefore, result.loadAfter),
    "",
    figures,
    "",
    ratios,
  ].join("\n");
}
