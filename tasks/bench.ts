/**
 * `deno task bench echo` — the echo servers side by side under the same
 * load. A benchmark, never a test: figures depend on the machine.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  type BenchServer,
  formatBench,
  runEchoBench,
  SCENARIOS,
} from "../lib/bench/echo.ts";
import { buildC } from "../lib/check/build_c.ts";
import { runMain, UsageError, usageFromParseError } from "../lib/cli/errors.ts";
import { repoPath } from "./paths.ts";

const HELP =
  `deno task bench echo — echo servers side by side under the same load

Usage:
  deno task bench echo [--seconds N] [--only TEXT] [--cmd "NAME=COMMAND {port}"]…

Servers: the Kata 1 and Kata 2 Deno references, the two C references (built
with cc), and every --cmd you add. Scenarios: request/response with 64 B and
64 KiB messages at 1, 100 and 1000 connections, streaming at 100, and 10 000
idle connections beside 100 active ones. Every echoed byte is verified.

Options:
  --seconds N    measured seconds per scenario, after warm-up (default 2)
  --only TEXT    run only scenarios whose name contains TEXT (e.g. "64 B")
  --cmd SPEC     another server: "name=./my-echo {port}"
  --json         print the measurements as JSON

Results are also written to logs/bench/echo-<time>.json. Needs Linux and cc.`;

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        seconds: { type: "string", default: "2" },
        only: { type: "string" },
        cmd: { type: "string", multiple: true },
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
  if (positionals[0] !== "echo" || positionals.length > 1) {
    throw new UsageError(
      `Unknown benchmark: ${positionals.join(" ")} (there is: echo)`,
    );
  }
  const seconds = Number(values.seconds);
  if (!(seconds > 0 && seconds <= 60)) {
    throw new UsageError("--seconds takes a number from 0 to 60");
  }
  const build = repoPath("logs/.build");
  const kata = (slug: string) => repoPath(`katas/${slug}/reference.ts`);
  const servers: BenchServer[] = [
    {
      name: "C epoll (kata 2)",
      command: `${await buildC(
        cSource("02-echo-event-loop"),
        `${build}/02-echo-event-loop`,
      )} {port}`,
    },
    {
      name: "C pthreads (kata 1)",
      command: `${await buildC(
        cSource("01-echo-threaded"),
        `${build}/01-echo-threaded`,
      )} {port}`,
    },
    {
      name: "Deno event loop (kata 2)",
      command: `${Deno.execPath()} run --allow-net ${
        kata("02-echo-event-loop")
      } --port {port}`,
    },
    {
      name: "Deno task/conn (kata 1)",
      command: `${Deno.execPath()} run --allow-net ${
        kata("01-echo-threaded")
      } --port {port}`,
    },
  ];
  for (const spec of values.cmd ?? []) {
    const at = spec.indexOf("=");
    if (at < 1 || !spec.includes("{port}")) {
      throw new UsageError(`--cmd takes "name=COMMAND {port}", not "${spec}"`);
    }
    servers.push({ name: spec.slice(0, at), command: spec.slice(at + 1) });
  }
  const scenarios = SCENARIOS.filter((s) =>
    !values.only || s.name.includes(values.only)
  );
  if (scenarios.length === 0) {
    throw new UsageError(`No scenario matches "${values.only}"`);
  }

  if (!values.json) {
    console.log(
      `${scenarios.length} scenarios × ${servers.length} servers, ${seconds} s each…\n`,
    );
  }
  const results = await runEchoBench({
    servers,
    scenarios,
    seconds,
    buildDirectory: `${build}/bench`,
    onMeasurement: (m) =>
      values.json ||
      console.error(
        `  ${m.scenario} · ${m.server}: ${
          m.error ?? `${Math.round(m.messagesPerSecond)} msgs/s`
        }`,
      ),
  });
  await Deno.mkdir(repoPath("logs/bench"), { recursive: true });
  const file = repoPath(
    `logs/bench/echo-${
      new Date().toISOString().replaceAll(":", "-").slice(0, 19)
    }.json`,
  );
  await Deno.writeTextFile(
    file,
    JSON.stringify(
      { cpus: navigator.hardwareConcurrency, seconds, results },
      null,
      2,
    ),
  );
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else {console.log(
      `\n${formatBench(results, servers[0].name)}\n\nSaved to ${file}`,
    );}
  return results.some((r) => r.error || r.mismatches > 0) ? 1 : 0;
}

function cSource(slug: string): URL {
  return new URL(`../katas/${slug}/reference.c`, import.meta.url);
}

if (import.meta.main) {
  await runMain(() => main(Deno.args), "deno task bench --help");
}
