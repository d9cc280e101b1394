/**
 * `deno task kata:N …` — one kata's practice session, checker, reference
 * server and mistake log.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { buildC } from "../lib/check/build_c.ts";
import { formatHeading, formatStage, formatSummary, reportToJson } from "../lib/check/report.ts";
import type { ClientSpec } from "../lib/check/client.ts";
import { FIXTURE_CASES, startHttpFixture } from "../lib/check/http_fixture.ts";
import type { CheckReport } from "../lib/check/report.ts";
import { runCaptureCheck, runCheck, type RunCheckOptions, runClientCheck } from "../lib/check/run.ts";
import { TargetError, type TargetSpec } from "../lib/check/target.ts";
import { runMain, UsageError, usageFromParseError } from "../lib/cli/errors.ts";
import { LogPaths } from "../lib/practice/logs.ts";
import { appendMistake } from "../lib/practice/mistakes.ts";
import { practice, printCard } from "../lib/practice/session.ts";
import {
  type CaptureKata,
  type ClientKata,
  type ExperimentKata,
  findKata,
  type Kata,
  kataDirectory,
  type ServerKata,
} from "../katas/catalog.ts";
import { repoPath } from "./paths.ts";
import { LabUnavailable } from "../lib/lab/lab.ts";
import { captureHandshake } from "../lib/lab/handshake.ts";
import { annotateFile } from "../lib/pcap/file.ts";
import { formatAnnotated } from "../lib/pcap/table.ts";
import { labelSession } from "../lib/practice/label_session.ts";
import { interrupted, ToolError, Transcript } from "../lib/tools/runner.ts";
import { type ExperimentContext, parseRate } from "../lib/check/experiment.ts";
import { runStages as runStagesOf } from "../lib/check/stage.ts";
import { formatRealtimeTable, formatSweepTable, saveSweep } from "../lib/loss/report.ts";
import { runSweep } from "../lib/loss/sweep.ts";
import { experimentSession } from "../lib/practice/experiment_session.ts";
import { drawProgress } from "../lib/report/progress.ts";

function help(kata: Kata): string {
  const n = kata.number;
  const client = kata.built && kata.kind === "client";
  const run = client
    ? `  deno task kata:${n} run URL            run the reference client on URL
  deno task kata:${n} fixture [--port P] a server with every case the checker uses (default port 8080)`
    : `  deno task kata:${n} run [--port P] [--host H]
                                  run the reference server (default 127.0.0.1:${
      kata.built && kata.kind === "server" ? kata.defaultPort : "–"
    })`;
  const targets = client
    ? `  --reference          the Deno reference solution, in-process
  --file PATH          a Deno attempt, run with network access to loopback only
  --cmd "COMMAND {url}"  any program in any language; {url} becomes each case's URL`
    : `  --reference          the Deno reference solution, in-process
  --reference-c        the C reference, built with cc
  --file PATH          a Deno attempt, run with network access to one loopback port only
  --cmd "COMMAND {port}"  any program in any language; {port} becomes a free port
  --port P [--host H]  a server that is already listening (host 127.0.0.1 by default)`;
  return `deno task kata:${n} — Kata ${n}: ${kata.title}

Usage:
  deno task kata:${n}                    practice: card, fresh attempt, countdown, check on save
  deno task kata:${n} card               print the card only
  deno task kata:${n} check TARGET       grade an implementation, stage by stage
${run}
  deno task kata:${n} log "MISTAKE"      add a mistake to logs/${kata.slug}.md

Check targets (exactly one):
${targets}

Options:
  --json               check: print a machine-readable report instead
  --logs DIR           keep history and mistakes in DIR (default: logs/)
  -h, --help           this help

Exit status: 0 all stages passed (or the command succeeded), 1 a stage failed
or the target could not start, 2 wrong usage.`;
}

async function main(args: string[]): Promise<number> {
  const number = Number(args[0]);
  const kata = findKata(number);
  if (!kata) {
    throw new UsageError(
      `There is no kata ${args[0] ?? ""}: katas are numbered 1 to 6`,
    );
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: args.slice(1),
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        reference: { type: "boolean" },
        "reference-c": { type: "boolean" },
        file: { type: "string" },
        cmd: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        json: { type: "boolean" },
        logs: { type: "string" },
        loss: { type: "string" },
        repeats: { type: "string" },
        seconds: { type: "string" },
        "udp-rate": { type: "string" },
        cc: { type: "string" },
        server: { type: "string" },
        tool: { type: "string" },
      },
    });
  } catch (error) {
    usageFromParseError(error);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(help(kata));
    return 0;
  }
  const logs = new LogPaths(values.logs ?? repoPath("logs"));
  const [command = "practice", ...rest] = positionals;
  const card = await Deno.readTextFile(new URL("KATA.md", kataDirectory(kata)));

  switch (command) {
    case "card":
      expectNoMore(rest, command);
      await printCard({ kata, card, logs });
      return 0;
    case "log":
      if (rest.length === 0) {
        throw new UsageError(
          `Say what the mistake was: deno task kata:${number} log "forgot htons"`,
        );
      }
      await appendMistake(
        logs.mistakes(kata),
        `Mistakes · Kata ${kata.number} · ${kata.title}`,
        rest.join(" "),
      );
      console.log(`Logged in ${logs.mistakes(kata)}.`);
      return 0;
  }
  if (!kata.built) {
    await printCard({ kata, card, logs });
    console.log(
      `Kata ${number}'s checker, reference and practice loop are not built yet: the card above is all there is for now.`,
    );
    return command === "practice" ? 0 : 2;
  }
  if (kata.kind === "experiment") {
    return await experimentKata(kata, command, rest, values, card, logs);
  }
  if (kata.kind === "capture") {
    return await captureKata(kata, command, rest, values, card, logs);
  }
  switch (command) {
    case "practice":
      expectNoMore(rest, command);
      await practice({
        kata,
        card,
        logs,
        starter: new URL("starter.ts", kataDirectory(kata)),
        check: (file, onResult) => grade(kata, { file }, { onResult }),
        checkCommand: (file) => `deno task kata:${number} check --file ${file}`,
      });
      return 0;
    case "check":
      expectNoMore(rest, command);
      return await check(kata, values);
    case "run":
      if (kata.kind === "client") return await runClient(kata, rest);
      expectNoMore(rest, command);
      return await runServer(kata, values);
    case "fixture":
      if (kata.kind !== "client") {
        throw new UsageError(
          `Kata ${number} has no fixture server: it grades a server`,
        );
      }
      expectNoMore(rest, command);
      return await serveFixture(values);
    default:
      throw new UsageError(`Unknown command: ${command}`);
  }
}

function expectNoMore(rest: string[], command: string) {
  if (rest.length > 0) {
    throw new UsageError(`Unexpected argument after ${command}: ${rest[0]}`);
  }
}

interface TargetFlags {
  reference?: boolean;
  "reference-c"?: boolean;
  file?: string;
  cmd?: string;
  port?: string;
  host?: string;
  json?: boolean;
}

/** What to grade, as the flags said: one of these is set. */
interface Target {
  reference?: true;
  referenceC?: true;
  file?: string;
  cmd?: string;
  address?: { hostname: string; port: number };
}

/** Grades `target` with `kata`'s checker. Throws TargetError when it cannot start. */
async function grade(
  kata: ServerKata | ClientKata,
  target: Target,
  options: RunCheckOptions = {},
): Promise<CheckReport> {
  if (kata.kind === "client") {
    const spec: ClientSpec = target.reference
      ? {
        kind: "module",
        label: "Deno reference (in-process)",
        run: await kata.loadReference(),
      }
      : target.file !== undefined
      ? { kind: "deno-file", path: target.file }
      : { kind: "command", command: target.cmd! };
    return await runClientCheck(
      { ...kata, stages: await kata.loadStages() },
      spec,
      options,
    );
  }
  let spec: TargetSpec;
  if (target.reference) {
    spec = {
      kind: "module",
      label: "Deno reference (in-process)",
      start: await kata.loadReference(),
    };
  } else if (target.referenceC) {
    if (!kata.referenceC) {
      throw new UsageError(`Kata ${kata.number} has no C reference`);
    }
    const binary = await buildC(
      new URL(kata.referenceC, kataDirectory(kata)),
      repoPath(`logs/.build/${kata.slug}`),
    );
    spec = { kind: "command", command: `${binary} {port}` };
  } else if (target.file !== undefined) {
    spec = { kind: "deno-file", path: target.file };
  } else if (target.cmd !== undefined) {
    spec = { kind: "command", command: target.cmd };
  } else {
    spec = { kind: "address", ...target.address! };
  }
  return await runCheck(
    { ...kata, stages: await kata.loadStages() },
    spec,
    options,
  );
}

async function check(
  kata: ServerKata | ClientKata,
  flags: TargetFlags,
): Promise<number> {
  const json = flags.json ?? false;
  const target = targetFromFlags(kata, flags);
  try {
    const report = await grade(kata, target, {
      onStart: (label) => json || console.log(formatHeading(kata.number, kata.title, label)),
      onResult: (result) => json || console.log(formatStage(result)),
    });
    console.log(json ? reportToJson(report) : formatSummary(report));
    return report.passed ? 0 : 1;
  } catch (error) {
    if (!(error instanceof TargetError)) throw error;
    reportCannotStart(kata, error.message, json);
    return 1;
  }
}

function targetFromFlags(
  kata: ServerKata | ClientKata,
  flags: TargetFlags,
): Target {
  const allowed = kata.kind === "client"
    ? (["reference", "file", "cmd"] as const)
    : (["reference", "reference-c", "file", "cmd", "port"] as const);
  const wrong = (["reference-c", "port", "host"] as const).filter((flag) =>
    flags[flag] !== undefined &&
    !(allowed as readonly string[]).includes(flag === "host" ? "port" : flag)
  );
  if (wrong.length > 0) {
    throw new UsageError(
      `Kata ${kata.number} grades a client, which the checker runs itself: use --reference, --file PATH or --cmd "COMMAND {url}", not --${
        wrong[0]
      }`,
    );
  }
  const given = allowed.filter((flag) => flags[flag] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0
        ? `Say what to check: ${
          kata.kind === "client"
            ? `--reference, --file PATH or --cmd "COMMAND {url}"`
            : `--reference, --reference-c, --file PATH, --cmd "COMMAND {port}" or --port P`
        }`
        : `Give exactly one target, not ${given.map((flag) => `--${flag}`).join(" and ")}`,
    );
  }
  if (flags.host !== undefined && flags.port === undefined) {
    throw new UsageError(
      "--host goes with --port: it says where an already running server listens",
    );
  }
  switch (given[0]) {
    case "reference":
      return { reference: true };
    case "reference-c":
      return { referenceC: true };
    case "file":
      return { file: flags.file! };
    case "cmd":
      return { cmd: flags.cmd! };
    case "port":
      return {
        address: {
          hostname: flags.host ?? "127.0.0.1",
          port: parsePort(flags.port!),
        },
      };
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) {
    throw new UsageError(
      `--port takes a number from 1 to 65535, not "${text}"`,
    );
  }
  return port;
}

async function runServer(
  kata: ServerKata,
  flags: TargetFlags,
): Promise<number> {
  const port = flags.port === undefined ? kata.defaultPort : parsePort(flags.port);
  const hostname = flags.host ?? "127.0.0.1";
  const start = await kata.loadReference();
  let server;
  try {
    server = await start({ hostname, port });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      console.error(
        `Port ${port} is already in use: stop whatever listens there, or pass --port`,
      );
      return 1;
    }
    throw error;
  }
  console.log(
    `Kata ${kata.number} reference listening on ${server.addr.hostname}:${server.addr.port}`,
  );
  console.log(
    `Try it: nc ${server.addr.hostname} ${server.addr.port}    (Ctrl-C to stop)`,
  );
  await untilInterrupted();
  await server.close();
  return 0;
}

async function runClient(kata: ClientKata, rest: string[]): Promise<number> {
  if (rest.length !== 1) {
    throw new UsageError(
      `Give one URL: deno task kata:${kata.number} run http://localhost:8080/`,
    );
  }
  const run = await kata.loadReference();
  return await run(rest, { stdout: Deno.stdout, stderr: Deno.stderr });
}

async function serveFixture(flags: TargetFlags): Promise<number> {
  const port = flags.port === undefined ? 8080 : parsePort(flags.port);
  let fixture;
  try {
    fixture = startHttpFixture(port);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      console.error(
        `Port ${port} is already in use: stop whatever listens there, or pass --port`,
      );
      return 1;
    }
    throw error;
  }
  console.log(
    `The checker's fixture server is listening on 127.0.0.1:${fixture.port}. Its cases:`,
  );
  for (const path of FIXTURE_CASES) {
    console.log(`  http://localhost:${fixture.port}${path}`);
  }
  console.log("(Ctrl-C to stop)");
  await untilInterrupted();
  await fixture.close();
  return 0;
}

/** Kata 5: check a capture (the kit's or the learner's), make one, or practise labelling. */
async function captureKata(
  kata: CaptureKata,
  command: string,
  rest: string[],
  flags: TargetFlags,
  card: string,
  logs: LogPaths,
): Promise<number> {
  const capture = async (json = false) => {
    await Deno.mkdir(logs.attempts(kata), { recursive: true });
    const output = `${logs.attempts(kata)}/${new Date().toISOString().replaceAll(":", "-").slice(0, 19)}.pcap`;
    const transcript = new Transcript((line) => json || console.log(line));
    await captureHandshake({ output, transcript });
    return output;
  };
  switch (command) {
    case "practice":
      expectNoMore(rest, command);
      await labelSession({
        kata,
        card,
        logs,
        capture: () => capture(),
        annotate: annotateFile,
        commands: HANDSHAKE_COMMANDS,
      });
      return 0;
    case "run": {
      expectNoMore(rest, command);
      const path = await capture();
      const { packets, error } = await annotateFile(path);
      console.log(`\n${formatAnnotated(packets)}\n\nSaved to ${path}`);
      if (error) console.error(error);
      return error ? 1 : 0;
    }
    case "check": {
      expectNoMore(rest, command);
      const json = flags.json ?? false;
      const given = (["reference", "file"] as const).filter((flag) => flags[flag] !== undefined);
      const other = (["reference-c", "cmd", "port", "host"] as const).find((
        flag,
      ) => flags[flag] !== undefined);
      if (other || given.length !== 1) {
        throw new UsageError(
          `Kata ${kata.number} grades a capture: use --reference (the kit makes one) or --file CAPTURE.pcap${
            other ? `, not --${other}` : ""
          }`,
        );
      }
      let path = flags.file;
      if (path === undefined) {
        try {
          path = await capture(json);
        } catch (error) {
          if (
            !(error instanceof ToolError || error instanceof LabUnavailable) || interrupted()
          ) throw error;
          reportCannotStart(kata, error.message, json);
          return 1;
        }
      }
      const report = await runCaptureCheck(
        { ...kata, stages: await kata.loadStages() },
        path,
        {
          onStart: (label) => {
            if (json) return;
            console.log(`\n${formatHeading(kata.number, kata.title, label)}`);
          },
          onResult: (result) => json || console.log(formatStage(result)),
        },
      );
      if (json) {
        const { packets } = await annotateFile(path);
        console.log(JSON.stringify({ ...report, packets }, null, 2));
      } else {
        const { packets } = await annotateFile(path);
        if (packets.length > 0) console.log(`\n${formatAnnotated(packets)}`);
        console.log(formatSummary(report));
      }
      return report.passed ? 0 : 1;
    }
    default:
      throw new UsageError(`Unknown command: ${command}`);
  }
}

interface ExperimentFlags {
  tool?: string;
  loss?: string;
  repeats?: string;
  seconds?: string;
  "udp-rate"?: string;
  cc?: string;
  server?: string;
  json?: boolean;
  reference?: boolean;
  file?: string;
  cmd?: string;
  port?: string;
  "reference-c"?: boolean;
}

/** Kata 6: run the sweep (check/run) or a practice session around it. */
async function experimentKata(
  kata: ExperimentKata,
  command: string,
  rest: string[],
  flags: ExperimentFlags,
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
      server: flags.server,
      tool,
      probe: decodeURIComponent(
        new URL("probe.ts", kataDirectory(kata)).pathname,
      ),
      transcript,
      onProgress: json ? undefined : drawProgress,
    });
    await Deno.mkdir(logs.attempts(kata), { recursive: true });
    const stem = `${logs.attempts(kata)}/${new Date().toISOString().replaceAll(":", "-").slice(0, 19)}`;
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
    return 0;
  }
  const report = await runStages(kata, { result, udpRate }, json);
  if (json) console.log(JSON.stringify({ ...report, result }, null, 2));
  return report.passed ? 0 : 1;
}

/** Runs an experiment's stages on its result and prints them. */
async function runStages(
  kata: ExperimentKata,
  context: ExperimentContext,
  json: boolean,
): Promise<CheckReport> {
  if (!json) {
    console.log(
      `\n${formatHeading(kata.number, kata.title, "the sweep above")}`,
    );
  }
  const stages = await runStagesOf(
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

/** Says why a check could not even start: one sentence, or a JSON report saying so. */
function reportCannotStart(kata: Kata, message: string, json: boolean): void {
  if (json) console.log(JSON.stringify({ kata: kata.number, passed: false, error: message }, null, 2));
  else console.error(message);
}

/** The card's commands, for a learner who captures by hand. */
const HANDSHAKE_COMMANDS = [
  `sudo tcpdump --immediate-mode -i lo -w handshake.pcap "tcp port 12345"   # terminal 1; wait for "listening on"`,
  `nc -l 127.0.0.1 12345                                                  # terminal 2`,
  `printf 'hello kata\\n' | nc -N 127.0.0.1 12345                          # terminal 3; then Ctrl-C in terminal 1`,
];

function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => Deno.addSignalListener("SIGINT", resolve));
}

if (import.meta.main) {
  await runMain(
    () => main(Deno.args),
    `deno task kata:${Deno.args[0] ?? "N"} --help`,
  );
}
