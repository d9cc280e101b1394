/**
 * `deno task fuzz http|pcap` — the long version of the suite's seeded fuzz
 * tests. A finding is replayed with the seed it printed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { splitCommand } from "../check/target.ts";
import { UsageError, usageFromParseError } from "../cli/errors.ts";
import { fuzzHttpProcess } from "./http.ts";
import { fuzzPcap } from "./pcap.ts";
import type { FuzzSummary } from "./summary.ts";
import { canReset } from "../net/reset.ts";
import { drawProgress } from "../report/progress.ts";
import { repoPath } from "../cli/paths.ts";

const HELP = `deno task fuzz http|pcap — seeded fuzzing, the long version of the suite's fuzz tests

Usage:
  deno task fuzz http [--count N] [--seed S] [--case I] [--cmd "COMMAND {port}"] [--json]
  deno task fuzz pcap [--count N] [--seed S] [--json]

http: mutated requests (random bytes, bit flips, huge lines, many headers,
NUL, CR and LF misused, Content-Length against Transfer-Encoding, pipelining,
dribbling, half-close, clients that leave early or reset) against the Kata 4
reference, started as its own process. Every request must get one
well-formed response or a clean close within 5 s, a head RFC 9112 forbids
must not get a 2xx, and the server must live. Reports crashes, hangs,
violations and the server's resident memory before and after.

pcap: mutated capture files through the kit's pcap and pcapng readers.

Options:
  --count N   how many cases (default: http 50000, pcap 10000)
  --seed S    the seed (default: a new one, printed); the same seed sends the same cases
  --case I    http: only case I of the seed, to replay one finding
  --cmd CMD   http: fuzz another server, e.g. --cmd "./my-server {port}"
  --json      print the summary as JSON

Exit status 0 when nothing was found, 1 otherwise.`;

const DEFAULT_COUNT = { http: 50_000, pcap: 10_000 };
const MAX_COUNT = 10_000_000;

/** `deno task fuzz …`: parses the arguments, runs one fuzzer, prints its summary; the exit status. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        count: { type: "string" },
        seed: { type: "string" },
        case: { type: "string" },
        cmd: { type: "string" },
        json: { type: "boolean" },
      },
    });
  } catch (error) {
    usageFromParseError(error);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  const target = positionals[0];
  if (positionals.length > 1 || (target !== "http" && target !== "pcap")) {
    throw new UsageError(`Unknown fuzz target: ${positionals.join(" ")} (there are: http, pcap)`);
  }
  const count = wholeNumber("--count", values.count ?? String(DEFAULT_COUNT[target]), 1, MAX_COUNT);
  const seed = values.seed === undefined
    ? Math.floor(Math.random() * 2 ** 31)
    : wholeNumber("--seed", values.seed, 0, 2 ** 32 - 1);
  const only = values.case === undefined ? undefined : wholeNumber("--case", values.case, 0, MAX_COUNT);
  if (target === "pcap" && (only !== undefined || values.cmd !== undefined)) {
    throw new UsageError("--case and --cmd are for http only");
  }
  const json = values.json ?? false;
  const summary = target === "http"
    ? await fuzzHttpTarget({ count, seed, only, command: values.cmd, json })
    : await fuzzPcapTarget({ count, seed, json });
  console.log(json ? JSON.stringify(summary, null, 2) : formatSummary(summary, only));
  return summary.crashes + summary.hangs + summary.violations === 0 ? 0 : 1;
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}: got "${text}"`);
  }
  return value;
}

async function fuzzHttpTarget(
  options: { count: number; seed: number; only?: number; command?: string; json: boolean },
): Promise<FuzzSummary> {
  const argv = options.command !== undefined
    ? splitCommand(options.command)
    : [Deno.execPath(), "run", "--allow-net", repoPath("katas/04-http-server/reference.ts"), "--port", "{port}"];
  if (!argv.some((arg) => arg.includes("{port}"))) {
    throw new UsageError(`The command must say where its port goes: put {port} in it`);
  }
  const total = options.only === undefined ? options.count : 1;
  if (!options.json) {
    console.error(`Fuzzing \`${argv.join(" ")}\` with ${total} requests, seed ${options.seed}…`);
    if (!canReset()) console.error("(no --allow-ffi: no clients that reset before they are accepted)");
  }
  return await fuzzHttpProcess({
    argv,
    count: options.count,
    seed: options.seed,
    only: options.only,
    onProgress: options.json ? undefined : (done) => drawProgress(done, total, "requests"),
  });
}

function fuzzPcapTarget(options: { count: number; seed: number; json?: boolean }): Promise<FuzzSummary> {
  if (!options.json) {
    console.error(`Fuzzing the capture reader with ${options.count} mutated captures, seed ${options.seed}…`);
  }
  return fuzzPcap({
    count: options.count,
    seed: options.seed,
    onProgress: options.json ? undefined : (done) => drawProgress(done, options.count, "captures"),
  });
}

function formatSummary(summary: FuzzSummary, only: number | undefined): string {
  const seconds = summary.elapsedMs / 1000;
  const mib = (bytes: number | undefined) => bytes === undefined ? "–" : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const lines = [
    `${summary.target} fuzz, seed ${summary.seed}: ${summary.cases} cases in ${seconds.toFixed(1)} s (${
      Math.round(summary.cases / Math.max(seconds, 0.001))
    }/s)`,
    `  crashes     ${summary.crashes}`,
    `  hangs       ${summary.hangs}`,
    `  violations  ${summary.violations}`,
  ];
  if (summary.rssBefore !== undefined || summary.rssAfter !== undefined) {
    const whose = summary.target === "http" ? "server RSS" : "reader RSS";
    lines.push(`  ${whose}  ${mib(summary.rssBefore)} before, ${mib(summary.rssAfter)} after`);
  }
  for (const failure of summary.failures) {
    lines.push("", `case ${failure.case}: ${failure.problem}`, `  input: ${failure.input}`);
    if (failure.case >= 0 && only === undefined) {
      lines.push(`  replay: deno task fuzz ${summary.target} --seed ${summary.seed} --case ${failure.case}`);
    }
  }
  return lines.join("\n");
}
