/**
 * `deno task kata:N …` — one kata's practice session, checker, reference
 * server and mistake log.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { buildC } from "../lib/tools/build_c.ts";
import { formatHeading, formatStage, formatSummary, reportToJson } from "../lib/check/report.ts";
import type { ClientSpec } from "../lib/check/client.ts";
import { FIXTURE_CASES, startHttpFixture } from "../lib/http/fixture.ts";
import type { CheckReport } from "../lib/check/report.ts";
import { runCheck, type RunCheckOptions, runClientCheck } from "../lib/check/run.ts";
import { TargetError, type TargetSpec } from "../lib/check/target.ts";
import { runMain, UsageError, usageFromParseError } from "../lib/cli/errors.ts";
import { LogPaths } from "../lib/practice/logs.ts";
import { appendMistake } from "../lib/practice/mistakes.ts";
import { practice, printCard } from "../lib/practice/session.ts";
import { type ClientKata, findKata, type Kata, kataDirectory, type ServerKata } from "../katas/catalog.ts";
import { repoPath } from "../lib/cli/paths.ts";
import { captureKata } from "../lib/kinds/capture.ts";
import {
  expectNoMore,
  type KataFlags,
  listenOrExplain,
  parsePort,
  reportCannotStart,
  untilInterrupted,
} from "../lib/kinds/common.ts";
import { experimentKata } from "../lib/kinds/experiment.ts";

function help(kata: Kata): string {
  const n = kata.number;
  const kind = kata.built ? kata.kind : "server";
  const practise: Record<string, string> = {
    server: "practice: card, fresh attempt, countdown, check on save",
    client: "practice: card, fresh attempt, countdown, check on save",
    capture: "practice: capture (yours or the kit's), label every packet, timed",
    experiment: "practice: predict, measure, explain in one paragraph",
  };
  const run: Record<string, string> = {
    server: `  deno task kata:${n} run [--port P] [--host H]
                                  run the reference server (default 127.0.0.1:${
      kata.built && kata.kind === "server" ? kata.defaultPort : "–"
    })`,
    client: `  deno task kata:${n} run URL            run the reference client on URL
  deno task kata:${n} fixture [--port P] a server with every case the checker uses (default port 8080)`,
    capture: `  deno task kata:${n} run                capture a conversation in a private lab and annotate it`,
    experiment: `  deno task kata:${n} run                run the loss sweep: table, JSON, CSV, SVG chart in logs/`,
  };
  const targets: Record<string, string> = {
    server: `Check targets (exactly one):
  --reference          the Deno reference solution, in-process
  --reference-c        the C reference, built with cc
  --file PATH          a Deno attempt, run with network access to one loopback port only
  --cmd "COMMAND {port}"  any program in any language; {port} becomes a free port
  --port P [--host H]  a server that is already listening (host 127.0.0.1 by default)`,
    client: `Check targets (exactly one):
  --reference          the Deno reference solution, in-process
  --file PATH          a Deno attempt, run with network access to loopback only
  --cmd "COMMAND {url}"  any program in any language; {url} becomes each case's URL`,
    capture: `Check targets (exactly one):
  --reference          the kit makes the capture in a private lab (needs root, tcpdump, nc)
  --file CAPTURE       a pcap or pcapng file you made`,
    experiment: `Experiment (check runs it and checks the data is sound):
  --loss 0,1,5,10      loss levels in per cent
  --repeats 3          runs per level and protocol (median, min–max)
  --seconds 3          length of each run
  --udp-rate 100M      UDP sending rate (iperf3 syntax)
  --cc cubic           TCP congestion control (default: the system's)
  --tool iperf3|deno   who measures: iperf3, or the kit's probe.ts
  --server HOST        an iperf3 server you run elsewhere (no loss shaping here)
  --delay MS, --rate R netem only: one-way delay and rate limit (100mbit)`,
  };
  return `deno task kata:${n} — Kata ${n}: ${kata.title}

Usage:
  deno task kata:${n}                    ${practise[kind]}
  deno task kata:${n} card               print the card only
  deno task kata:${n} check …            grade it, stage by stage
${run[kind]}
  deno task kata:${n} log "MISTAKE"      add a mistake to logs/${kata.slug}.md

${targets[kind]}

Options:
  --json               check: print a machine-readable report instead
  --logs DIR           keep history and mistakes in DIR (default: logs/)
  -h, --help           this help

Exit status: 0 all stages passed (or the command succeeded), 1 a stage failed
or the target could not start, 2 wrong usage, 130 interrupted.`;
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
        delay: { type: "string" },
        rate: { type: "string" },
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
  flags: KataFlags,
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
  flags: KataFlags,
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

async function runServer(
  kata: ServerKata,
  flags: KataFlags,
): Promise<number> {
  const port = flags.port === undefined ? kata.defaultPort : parsePort(flags.port);
  const hostname = flags.host ?? "127.0.0.1";
  const start = await kata.loadReference();
  const server = await listenOrExplain(port, () => start({ hostname, port }));
  if (!server) return 1;
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

async function serveFixture(flags: KataFlags): Promise<number> {
  const port = flags.port === undefined ? 8080 : parsePort(flags.port);
  const fixture = await listenOrExplain(port, () => startHttpFixture(port));
  if (!fixture) return 1;
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

if (import.meta.main) {
  await runMain(
    () => main(Deno.args),
    `deno task kata:${Deno.args[0] ?? "N"} --help`,
  );
}
