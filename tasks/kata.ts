/**
 * `deno task kata:N …` — one kata's practice session, checker, reference
 * server and mistake log.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { buildC } from "../lib/check/build_c.ts";
import {
  formatHeading,
  formatStage,
  formatSummary,
  reportToJson,
} from "../lib/check/report.ts";
import { runCheck } from "../lib/check/run.ts";
import { TargetError, type TargetSpec } from "../lib/check/target.ts";
import { runMain, UsageError, usageFromParseError } from "../lib/cli/errors.ts";
import { LogPaths } from "../lib/practice/logs.ts";
import { appendMistake } from "../lib/practice/mistakes.ts";
import { practice, printCard } from "../lib/practice/session.ts";
import {
  type BuiltKata,
  findKata,
  type Kata,
  kataDirectory,
} from "../katas/catalog.ts";
import { repoPath } from "./paths.ts";

function help(kata: Kata): string {
  const n = kata.number;
  return `deno task kata:${n} — Kata ${n}: ${kata.title}

Usage:
  deno task kata:${n}                    practice: card, fresh attempt, countdown, check on save
  deno task kata:${n} card               print the card only
  deno task kata:${n} check TARGET       grade an implementation, stage by stage
  deno task kata:${n} run [--port P] [--host H]
                                  run the reference server (default 127.0.0.1:${
    kata.built ? kata.defaultPort : "–"
  })
  deno task kata:${n} log "MISTAKE"      add a mistake to logs/${kata.slug}.md

Check targets (exactly one):
  --reference          the Deno reference solution, in-process
  --reference-c        the C reference, built with cc
  --file PATH          a Deno attempt, run with network access to one loopback port only
  --cmd "COMMAND {port}"  any program in any language; {port} becomes a free port
  --port P [--host H]  a server that is already listening (host 127.0.0.1 by default)

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
  switch (command) {
    case "practice":
      expectNoMore(rest, command);
      await practice({
        kata,
        card,
        logs,
        starter: new URL("starter.ts", kataDirectory(kata)),
        check: async (file, onResult) =>
          runCheck({ ...kata, stages: await kata.loadStages() }, {
            kind: "deno-file",
            path: file,
          }, { onResult }),
        checkCommand: (file) => `deno task kata:${number} check --file ${file}`,
      });
      return 0;
    case "check":
      expectNoMore(rest, command);
      return await check(kata, values);
    case "run":
      expectNoMore(rest, command);
      return await run(kata, values);
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

async function check(kata: BuiltKata, flags: TargetFlags): Promise<number> {
  const json = flags.json ?? false;
  let spec: TargetSpec;
  try {
    spec = await targetFromFlags(kata, flags);
  } catch (error) {
    if (!(error instanceof TargetError) || !json) throw error;
    console.log(
      JSON.stringify(
        { kata: kata.number, passed: false, error: error.message },
        null,
        2,
      ),
    );
    return 1;
  }
  const stages = await kata.loadStages();
  try {
    const report = await runCheck({ ...kata, stages }, spec, {
      onStart: (label) =>
        json || console.log(formatHeading(kata.number, kata.title, label)),
      onResult: (result) => json || console.log(formatStage(result)),
    });
    console.log(json ? reportToJson(report) : formatSummary(report));
    return report.passed ? 0 : 1;
  } catch (error) {
    if (!(error instanceof TargetError)) throw error;
    if (json) {
      console.log(
        JSON.stringify(
          { kata: kata.number, passed: false, error: error.message },
          null,
          2,
        ),
      );
    } else console.error(error.message);
    return 1;
  }
}

async function targetFromFlags(
  kata: BuiltKata,
  flags: TargetFlags,
): Promise<TargetSpec> {
  const given = (["reference", "reference-c", "file", "cmd", "port"] as const)
    .filter((flag) => flags[flag] !== undefined);
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0
        ? `Say what to check: --reference, --reference-c, --file PATH, --cmd "COMMAND {port}" or --port P`
        : `Give exactly one target, not ${
          given.map((flag) => `--${flag}`).join(" and ")
        }`,
    );
  }
  if (flags.host !== undefined && flags.port === undefined) {
    throw new UsageError(
      "--host goes with --port: it says where an already running server listens",
    );
  }
  switch (given[0]) {
    case "reference":
      return {
        kind: "module",
        label: "Deno reference (in-process)",
        start: await kata.loadReference(),
      };
    case "reference-c": {
      if (!kata.referenceC) {
        throw new UsageError(`Kata ${kata.number} has no C reference`);
      }
      const binary = await buildC(
        new URL(kata.referenceC, kataDirectory(kata)),
        repoPath(`logs/.build/${kata.slug}`),
      );
      return { kind: "command", command: `${binary} {port}` };
    }
    case "file":
      return { kind: "deno-file", path: flags.file! };
    case "cmd":
      return { kind: "command", command: flags.cmd! };
    case "port":
      return {
        kind: "address",
        hostname: flags.host ?? "127.0.0.1",
        port: parsePort(flags.port!),
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

async function run(kata: BuiltKata, flags: TargetFlags): Promise<number> {
  const port = flags.port === undefined
    ? kata.defaultPort
    : parsePort(flags.port);
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
  await new Promise<void>((resolve) =>
    Deno.addSignalListener("SIGINT", resolve)
  );
  await server.close();
  return 0;
}

if (import.meta.main) {
  await runMain(
    () => main(Deno.args),
    `deno task kata:${Deno.args[0] ?? "N"} --help`,
  );
}
