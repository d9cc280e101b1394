/**
 * `deno task bench echo|http|pcap` — the echo servers, the HTTP servers
 * and the capture readers, each side by side under the same load. A
 * benchmark, never a test: figures depend on the machine.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type BenchServer, runEchoBench, SCENARIOS } from "./echo.ts";
import { formatEcho, summarizeEcho } from "./echo_report.ts";
import { runHttpBench } from "./http.ts";
import { formatHttp, summarizeHttp } from "./http_report.ts";
import { formatPcapBench, pcapTaskCommand, runPcapBench } from "./pcap.ts";
import { choosePinning, contentionWarning, type Pinning } from "./pinning.ts";
import { formatLoad, loadAverage } from "./rounds.ts";
import { writeSyntheticCapture } from "./synthetic_capture.ts";
import { buildC } from "../tools/build_c.ts";
import { runTool, ToolError } from "../tools/runner.ts";
import { UsageError, usageFromParseError } from "../cli/errors.ts";
import { fileTimestamp } from "../practice/logs.ts";
import { repoPath } from "../cli/paths.ts";

const HELP = `deno task bench echo|http|pcap — side by side, in interleaved rounds

Usage:
  deno task bench echo [--rounds N] [--seconds N] [--only TEXT]… [--server TEXT]… [--cmd "NAME=COMMAND {port}"]…
  deno task bench http [--rounds N] [--seconds N] [--connections N] [--cmd "NAME=COMMAND {port}"]…
  deno task bench pcap [--rounds N] [--packets N]
  deno task bench check [--runs N] [--type-check "language server"|"deno check"|none]

Every server is measured once per round, round after round (A, B, C, A, B,
C, …), each time started fresh; figures are the median over the rounds with
their min–max, and each ratio is taken within a round, where the two ran
seconds apart. The server and the load generator run on cores of their own
where the machine has two; the report says where they ran and the machine's
load average before and after.

echo: the Kata 1 and Kata 2 Deno references, their syscall-track references
(libc through FFI: epoll, and a Worker thread per connection, which refuses
clients over 256 threads), the two C references (built with cc), a minimal
Deno.listen server (the runtime's floor), and every --cmd you add, under a C
load generator. Scenarios: request/response with 64 B and 64 KiB messages at
1, 100 and 1000 connections, streaming at 100, and 10 000 idle connections
beside 100 active ones. Every echoed byte is
verified. Ratios are to the C epoll reference.

http: Deno.serve, the Kata 4 reference, a minimal Deno.listen server (the
runtime's floor: no parsing at all) and nginx (where installed)
answering the same page with Connection: close, driven by wrk where
installed (or by a small Deno load generator, reported as such) after one
second of warm-up. Ratios are to Deno.serve.

pcap: a synthetic capture of N TCP packets (default 1 000 000) annotated by
the kit (text and --json, with deno.json's pcap task command), by tcpdump -nn
-r and by tshark -T fields, in interleaved rounds; the median and range of
seconds, packets/s, peak RSS and of each ratio within a round.

check: for katas 1–4, the time from saving a passing attempt to its verdict
in practice (the save delay, the stages and the type check), N runs each
(default 3), median and range.

Options:
  --rounds N       rounds, at least 3 (default 3)
  --seconds N      measured seconds per server per round (echo: 2; http: 5, rounded up
                   to whole seconds for wrk)
  --only TEXT      echo: only scenarios whose name contains TEXT (e.g. "64 B"); repeatable
  --server TEXT    echo: only servers whose name contains TEXT (and C epoll); repeatable
  --connections N  http: concurrent connections (default 50)
  --packets N      pcap: packets in the synthetic capture (default 1000000)
  --cmd SPEC       another server: "name=./my-server {port}"
  --json           echo, http, pcap: print every round's measurements and the summary as JSON

Results are also written to logs/bench/<name>-<time>.json. Needs Linux (and
cc for echo).`;

/** The flags, checked. */
interface Settings {
  bench: "echo" | "http" | "pcap";
  rounds: number;
  seconds: number;
  connections: number;
  packets: number;
  only: string[];
  server: string[];
  extra: BenchServer[];
  json: boolean;
}

/**
 * Runs `deno task bench` with `args`; returns the exit status.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * Deno.exit(await main(["echo", "--seconds", "1"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const settings = parseSettings(args);
  if (typeof settings === "number") return settings;
  if (settings.bench === "pcap") return await benchPcap(settings.packets, settings.rounds, settings.json);
  return settings.bench === "http" ? await benchHttp(settings) : await benchEcho(settings);
}

/** The settings, or the exit status after printing the help. Throws UsageError for bad flags. */
function parseSettings(args: string[]): Settings | number {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        rounds: { type: "string", default: "3" },
        seconds: { type: "string" },
        connections: { type: "string", default: "50" },
        packets: { type: "string", default: "1000000" },
        only: { type: "string", multiple: true },
        server: { type: "string", multiple: true },
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
  const bench = positionals[0];
  if (!(bench === "echo" || bench === "http" || bench === "pcap") || positionals.length > 1) {
    throw new UsageError(`Unknown benchmark: ${positionals.join(" ")} (there are: echo, http, pcap, check)`);
  }
  const whole = (flag: string, text: string, max: number, min = 1) => {
    const value = Number(text);
    if (!(Number.isInteger(value) && value >= min && value <= max)) {
      throw new UsageError(`--${flag} takes a whole number from ${min} to ${max}`);
    }
    return value;
  };
  const seconds = Number(values.seconds ?? (bench === "http" ? "5" : "2"));
  if (!(seconds > 0 && seconds <= 60)) throw new UsageError("--seconds takes a number from 0 to 60");
  return {
    bench,
    // At least 3: a median of two is a mean, and one round is the run that misled us.
    rounds: whole("rounds", values.rounds, 20, 3),
    seconds,
    connections: whole("connections", values.connections, 10_000),
    packets: whole("packets", values.packets, 50_000_000),
    only: values.only ?? [],
    server: values.server ?? [],
    extra: parseCmds(values.cmd ?? []),
    json: values.json ?? false,
  };
}

function parseCmds(specs: string[]): BenchServer[] {
  const servers = specs.map((spec) => {
    const at = spec.indexOf("=");
    if (at < 1 || !spec.includes("{port}")) {
      throw new UsageError(`--cmd takes "name=COMMAND {port}", not "${spec}"`);
    }
    return { name: spec.slice(0, at), command: spec.slice(at + 1) };
  });
  return servers;
}

/** Rounds are told apart by name: two servers with one name would be summarised as one. */
function namedApart(servers: BenchServer[]): BenchServer[] {
  const names = servers.map((server) => server.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw new UsageError(`Two servers are named "${twice}": give each --cmd its own name`);
  return servers;
}

const BUILD = repoPath("logs/.build");
const ECHO_BASELINE = "C epoll (kata 2)";
const HTTP_BASELINE = "Deno.serve";

/** Where the processes run and how busy the machine was before and after, for the report. */
interface Conditions {
  cpus: number;
  pinning: string;
  loadAverage: { before?: number[]; after?: number[] };
  /** Set when other work kept the server's core busy: see contentionWarning(). */
  warning?: string;
}

/** Chooses the pinning, notes the load average, and says both unless printing JSON. */
async function conditions(json: boolean): Promise<[Pinning, Conditions]> {
  const pinning = await choosePinning();
  const found: Conditions = {
    cpus: navigator.hardwareConcurrency,
    pinning: pinning.description,
    loadAverage: { before: loadAverage() },
  };
  if (!json) console.log(`Machine: ${found.cpus} CPUs; ${pinning.description}.`);
  return [pinning, found];
}

/** Notes the load average after the run; returns the lines that report the machine. */
function finish(found: Conditions, warning: string | undefined): string {
  found.loadAverage.after = loadAverage();
  found.warning = warning;
  const machine = `Machine: ${found.cpus} CPUs; ${found.pinning}; ${
    formatLoad(found.loadAverage.before, found.loadAverage.after)
  }.`;
  return warning ? `${machine}\n${warning}` : machine;
}

async function benchEcho(settings: Settings): Promise<number> {
  const matches = (name: string, texts: string[]) => texts.length === 0 || texts.some((text) => name.includes(text));
  const scenarios = SCENARIOS.filter((s) => matches(s.name, settings.only));
  if (scenarios.length === 0) throw new UsageError(`No scenario matches "${settings.only.join('", "')}"`);
  const servers = namedApart(await echoServers(settings.extra)).filter((server) =>
    server.name === ECHO_BASELINE || matches(server.name, settings.server)
  );
  const { rounds, seconds, json } = settings;
  if (!json) {
    console.log(
      `${scenarios.length} scenarios × ${servers.length} servers × ${rounds} rounds, ${seconds} s each, interleaved…`,
    );
  }
  const [pinning, found] = await conditions(json);
  const measurements = await runEchoBench({
    servers,
    scenarios,
    seconds,
    rounds,
    pinning,
    buildDirectory: `${BUILD}/bench`,
    onMeasurement: (m) =>
      json || console.error(
        `  ${m.scenario} · round ${m.round} · ${m.server}: ${
          m.error ?? `${Math.round(m.messagesPerSecond).toLocaleString("en-US")} msgs/s`
        }`,
      ),
  });
  const machine = finish(found, contentionWarning(measurements));
  const summary = summarizeEcho(measurements, ECHO_BASELINE);
  const file = await save("echo", { ...found, seconds, rounds, measurements, summary });
  if (json) console.log(JSON.stringify({ ...found, seconds, rounds, measurements, summary }, null, 2));
  else console.log(`\n${formatEcho(summary, ECHO_BASELINE)}\n\n${machine}\nSaved to ${file}`);
  return measurements.some((m) => m.error || m.mismatches > 0) ? 1 : 0;
}

async function echoServers(extra: BenchServer[]): Promise<BenchServer[]> {
  const deno = (file: string, args = "--port {port}") => `${Deno.execPath()} run --allow-net ${repoPath(file)} ${args}`;
  const syscalls = (slug: string) => repoPath(`katas/${slug}/reference_syscalls.ts`);
  const c = async (slug: string) =>
    `${await buildC(new URL(`../../katas/${slug}/reference.c`, import.meta.url), `${BUILD}/${slug}`)} {port}`;
  return [
    { name: ECHO_BASELINE, command: await c("02-echo-event-loop") },
    { name: "C pthreads (kata 1)", command: await c("01-echo-threaded") },
    { name: "Deno event loop (kata 2)", command: deno("katas/02-echo-event-loop/reference.ts") },
    { name: "Deno task/conn (kata 1)", command: deno("katas/01-echo-threaded/reference.ts") },
    { name: "Deno.listen minimal", command: deno("lib/bench/deno_listen_echo.ts", "{port}") },
    {
      name: "FFI epoll (kata 2 syscalls)",
      command: `${Deno.execPath()} run --allow-ffi ${syscalls("02-echo-event-loop")} --port {port}`,
    },
    {
      name: "FFI Worker/conn (kata 1 syscalls)",
      command: `${Deno.execPath()} run --allow-ffi --allow-read=${syscalls("01-echo-threaded")} ${
        syscalls("01-echo-threaded")
      } --port {port}`,
    },
    ...extra,
  ];
}

async function benchHttp(settings: Settings): Promise<number> {
  const { rounds, seconds, connections, json } = settings;
  const servers: BenchServer[] = [
    {
      name: HTTP_BASELINE,
      command: `${Deno.execPath()} run --allow-net ${repoPath("lib/bench/deno_serve.ts")} {port}`,
    },
    {
      name: "Kata 4 reference",
      command: `${Deno.execPath()} run --allow-net ${repoPath("katas/04-http-server/reference.ts")} --port {port}`,
    },
    {
      name: "Deno.listen minimal",
      command: `${Deno.execPath()} run --allow-net ${repoPath("lib/bench/deno_listen_http.ts")} {port}`,
    },
  ];
  namedApart([...servers, ...settings.extra, { name: "nginx", command: "" }]);
  const nginx = await nginxServer();
  if (typeof nginx !== "string") servers.push(nginx);
  servers.push(...settings.extra);
  if (!json) {
    console.log(
      `${servers.length} servers × ${rounds} rounds, ${connections} connections, ${seconds} s each after 1 s of warm-up, Connection: close, interleaved…`,
    );
    if (typeof nginx === "string") console.log(`(no nginx to compare with: ${nginx})`);
  }
  const [pinning, found] = await conditions(json);
  const measurements = await runHttpBench({
    servers,
    seconds,
    connections,
    rounds,
    pinning,
    onMeasurement: (m) =>
      json || console.error(
        `  round ${m.round} · ${m.server}: ${
          m.error ?? `${Math.round(m.requestsPerSecond).toLocaleString("en-US")} req/s`
        }`,
      ),
  });
  const machine = finish(found, contentionWarning(measurements));
  const summary = summarizeHttp(measurements, HTTP_BASELINE);
  const generator = measurements[0]?.generator === "wrk" ? "wrk" : "netkata's Deno generator (no wrk here)";
  const file = await save("http", { ...found, seconds, connections, rounds, generator, measurements, summary });
  if (json) {
    console.log(JSON.stringify({ ...found, seconds, connections, rounds, generator, measurements, summary }, null, 2));
  } else {
    console.log(
      `\nLoad generator: ${generator}\n\n${formatHttp(summary, HTTP_BASELINE)}\n\n${machine}\nSaved to ${file}`,
    );
  }
  return measurements.some((m) => m.error) ? 1 : 0;
}

/** nginx serving the same page from one process, or why it cannot. */
async function nginxServer(): Promise<BenchServer | string> {
  try {
    await runTool("nginx", ["-v"]);
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    return error.message;
  }
  // nginx resolves -c against -p: both absolute.
  const dir = decodeURIComponent(new URL("../../logs/.build/nginx", import.meta.url).pathname);
  await Deno.mkdir(dir, { recursive: true });
  const page = "<!doctype html>\\n<title>netkata</title>\\n<p>Hello from Kata 4.</p>\\n";
  return {
    name: "nginx",
    // One process (no master, one worker), so its CPU and memory are all in one place.
    prepare: (port) =>
      Deno.writeTextFile(
        `${dir}/nginx-${port}.conf`,
        `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx-${port}.pid; error_log stderr;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:${port}; default_type "text/html; charset=utf-8";
  location = / { return 200 "${page}"; } } }
`,
      ),
    command: `nginx -p ${dir} -c ${dir}/nginx-{port}.conf`,
  };
}

async function benchPcap(packets: number, rounds: number, json: boolean): Promise<number> {
  const dir = `${BUILD}/pcap`;
  await Deno.mkdir(dir, { recursive: true });
  const capture = `${dir}/synthetic-${packets}.pcap`;
  if (!json) {
    console.log(
      `Writing a synthetic capture of ${packets.toLocaleString("en-US")} TCP packets…`,
    );
  }
  const written = await writeSyntheticCapture(capture, { packets });
  const result = await runPcapBench({
    capture,
    packets: written,
    outputDirectory: dir,
    rounds,
    netkata: await pcapTaskCommand(),
    onRun: (run) =>
      json ||
      console.error(`  round ${run.round}, ${run.contender}: ${run.error ?? `${run.seconds.toFixed(2)} s`}`),
  });
  const file = await save("pcap", { ...result });
  if (json) console.log(JSON.stringify(result, null, 2));
  else console.log(`\n${formatPcapBench(result)}\n\nSaved to ${file}`);
  return result.runs.some((run) => run.contender.startsWith("netkata") && run.error) ? 1 : 0;
}

async function save(
  name: string,
  data: Record<string, unknown>,
): Promise<string> {
  await Deno.mkdir(repoPath("logs/bench"), { recursive: true });
  const file = repoPath(
    `logs/bench/${name}-${fileTimestamp()}.json`,
  );
  await Deno.writeTextFile(
    file,
    JSON.stringify({ cpus: navigator.hardwareConcurrency, ...data }, null, 2),
  );
  return file;
}
