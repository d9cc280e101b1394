/**
 * `deno task kata:6 …`: run the loss experiment (check, run), or a
 * practice session around it: predict, measure, explain.
 *
 * @module
 */

import { type ExperimentKata, kataDirectory } from "../../katas/catalog.ts";
import { type ExperimentContext, parseRate } from "../../lib/check/experiment.ts";
import { type CheckReport, formatHeading, formatStage, formatSummary } from "../../lib/check/report.ts";
import { runStages } from "../../lib/check/stage.ts";
import { UsageError } from "../../lib/cli/errors.ts";
import { LabUnavailable } from "../../lib/lab/lab.ts";
import { failedRuns, formatRealtimeTable, formatSweepTable, saveSweep } from "../../lib/loss/report.ts";
import { runSweep } from "../../lib/loss/sweep.ts";
import { experimentSession } from "../../lib/practice/experiment_session.ts";
import type { LogPaths } from "../../lib/practice/logs.ts";
import { drawProgress } from "../../lib/report/progress.ts";
import { interrupted, ToolError, Transcript } from "../../lib/tools/runner.ts";
import { expectNoMore, type KataFlags, reportCannotStart } from "./common.ts";

/** Kata 6: run the sweep (check/run) or a practice session around it. */
export async function experimentKata(
  kata: ExperimentKata,
  command: string,
  rest: string[],
  flags: KataFlags,
  card: string,
  logs: LogPaths,
): Promise<number> {
  expectNoMore(rest, command);
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
  const udpRateText = flags["udp-rate"] ?? "100M";
  const udpRate = parseRate(udpRateText);
  if (udpRate === undefined) {
    throw new UsageError(
      `--udp-rate takes an iperf3 rate such as 100M, not "${udpRateText}"`,
    );
  }
  const delayMs = flags.delay === undefined ? undefined : Number(flags.delay);
  if (delayMs !== undefined && !(delayMs >= 0 && delayMs <= 10_000)) {
    throw new UsageError(`--delay takes milliseconds from 0 to 10000, not "${flags.delay}"`);
  }
  if (flags.rate !== undefined && !/^\d+(\.\d+)?[kmg]?bit$/i.test(flags.rate)) {
    throw new UsageError(`--rate takes a tc rate such as 100mbit, not "${flags.rate}"`);
  }
  const other = (["file", "cmd", "port", "reference-c"] as const).find((flag) => flags[flag] !== undefined);
  if (other) {
    throw new UsageError(
      `Kata 6 runs an experiment; --${other} does not apply (see --help)`,
    );
  }
  const json = flags.json ?? false;
  const tool = flags.tool ?? "iperf3";
  if (tool !== "iperf3" && tool !== "deno") {
    throw new UsageError(`--tool is iperf3 or deno, not "${tool}"`);
  }
  if (tool === "deno" && flags.server) {
    throw new UsageError(
      "--tool deno runs inside the kit's own lab; --server is for iperf3",
    );
  }

  const measure = async () => {
    const transcript = new Transcript((line) => json || Deno.stderr.isTerminal() || console.error(line));
    const result = await runSweep({
      losses,
      repeats,
      seconds,
      udpRate: udpRateText,
      congestion: flags.cc,
      delayMs,
      rate: flags.rate,
      server: flags.server,
      tool,
      probe: decodeURIComponent(
        new URL("probe.ts", kataDirectory(kata)).pathname,
      ),
      transcript,
      onProgress: json ? undefined : drawProgress,
    });
    const stem = await logs.timestamped(kata);
    return { result, files: await saveSweep(result, stem) };
  };

  if (command === "practice") {
    await experimentSession({
      kata,
      card,
      logs,
      losses,
      measure,
      annotate: async (file, extra) => {
        const saved = JSON.parse(await Deno.readTextFile(file));
        await Deno.writeTextFile(
          file,
          JSON.stringify({ ...saved, ...extra }, null, 2) + "\n",
        );
      },
    });
    return 0;
  }
  if (command !== "check" && command !== "run") {
    throw new UsageError(`Unknown command: ${command}`);
  }
  let measured;
  try {
    measured = await measure();
  } catch (error) {
    if (!(error instanceof ToolError || error instanceof LabUnavailable) || interrupted()) {
      throw error;
    }
    reportCannotStart(kata, error.message, json);
    return 1;
  }
  const { result, files } = measured;
  if (!json) {
    if (result.notice) console.log(result.notice);
    console.log(`\n${formatSweepTable(result)}\n`);
    const realtime = formatRealtimeTable(result);
    if (realtime) console.log(`${realtime}\n`);
    console.log(
      result.rttUs && result.mss
        ? `TCP congestion control: ${
          result.congestion ?? "unknown"
        }; path RTT ${result.rttUs} µs; MSS ${result.mss} bytes (for the Mathis estimate).`
        : "Path RTT and MSS come from iperf3's TCP report: no Mathis estimate without them.",
    );
    console.log(`Saved: ${files.join(", ")}`);
  }
  if (command === "run") {
    if (json) console.log(JSON.stringify(result, null, 2));
    // Saved all the same, but a sweep with failed runs is not a success.
    return failedRuns(result).length > 0 ? 1 : 0;
  }
  const report = await checkSweep(kata, { result, udpRate }, json);
  if (json) console.log(JSON.stringify({ ...report, result }, null, 2));
  return report.passed ? 0 : 1;
}

/** Runs the experiment's stages on the sweep and prints them. */
async function checkSweep(
  kata: ExperimentKata,
  context: ExperimentContext,
  json: boolean,
): Promise<CheckReport> {
  if (!json) {
    console.log(
      `\n${formatHeading(kata.number, kata.title, "the sweep above")}`,
    );
  }
  const stages = await runStages(
    await kata.loadStages(),
    () => ({ context, release() {} }),
    {
      onResult: (result) => json || console.log(formatStage(result)),
    },
  );
  const report = {
    kata: kata.number,
    title: kata.title,
    target: "sweep",
    passed: !stages.some((s) => s.status === "fail"),
    stages,
  };
  if (!json) console.log(formatSummary(report));
  return report;
}
