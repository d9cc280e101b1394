/**
 * `deno task bench echo|http|pcap` — the echo servers, the HTTP servers
 * and the capture readers, each side by side under the same load. A
 * benchmark, never a test: figures depend on the machine.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type BenchServer, formatBench, runEchoBench, SCENARIOS } from "./echo.ts";
import { formatHttpBench, runHttpBench } from "./http.ts";
import { formatPcapBench, pcapTaskCommand, runPcapBench } from "./pcap.ts";
import { writeSyntheticCapture } from "./synthetic_capture.ts";
import { buildC } from "../tools/build_c.ts";
import { UsageError, usageFromParseError } from "../cli/errors.ts";
import { fileTimestamp } from "../practice/logs.ts";
import { repoPath } from "../cli/paths.ts";

const HELP = `deno task bench echo|http|pcap — side by side, in one run

Usage:
  deno task bench echo [--seconds N] [--only TEXT] [--cmd "NAME=COMMAND {port}"]…
  deno task bench http [--seconds N] [--connections N] [--cmd "NAME=COMMAND {port}"]…
  deno task bench pcap [--packets N] [--rounds N]

echo: the Kata 1 and Kata 2 Deno references, their syscall-track references
(libc through FFI: epoll, and a Worker thread per connection, which refuses
clients over 256 threads), the two C references (built with cc), and every
--cmd you add, under a C load generator. Scenarios:
request/response with 64 B and 64 KiB messages at 1, 100 and 1000
connections, streaming at 100, and 10 000 idle connections beside 100 active
ones. Every echoed byte is verified.

http: the Kata 4 reference, Deno.serve and nginx (where installed) answering
the same page with Connection: close, driven by wrk where installed (or by a
small Deno load generator, reported as such).

pcap: a synthetic capture of N TCP packets (default 1 000 000) annotated by
the kit (text and --json, with deno.json's pcap task command), by tcpdump -nn
-r and by tshark -T fields, in interleaved rounds; the median and range of
seconds, packets/s, peak RSS and of each ratio within a round, and the load
average before and after.

Options:
  --seconds N      measured seconds per scenario or server (default 2; http: 5)
  --only TEXT      echo: only scenarios whose name contains TEXT (e.g. "64 B")
  --connections N  http: concurrent connections (default 50)
  --packets N      pcap: packets in the synthetic capture (default 1000000)
  --rounds N       pcap: interleaved rounds (default 3)
  --cmd SPEC       another server: "name=./my-server {port}"
  --json           print the measurements as JSON

Results are also written to logs/bench/<name>-<time>.json. Needs Linux (and
cc for echo).`;

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
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        seconds: { type: "string" },
        connections: { type: "string", default: "50" },
        packets: { type: "string", default: "1000000" },
        rounds: { type: "string", default: "3" },
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
  if (
    !["echo", "http", "pcap"].includes(positionals[0]) || positionals.length > 1
  ) {
    throw new UsageError(
      `Unknown benchmark: ${positionals.join(" ")} (there are: echo, http, pcap)`,
    );
  }
  if (positionals[0] === "pcap") {
    const packets = Number(values.packets);
    if (!(Number.isInteger(packets) && packets > 0 && packets <= 50_000_000)) {
      throw new UsageError("--packets takes a whole number from 1 to 50000000");
    }
    const rounds = Number(values.rounds);
    if (!(Number.isInteger(rounds) && rounds > 0 && rounds <= 20)) {
      throw new UsageError("--rounds takes a whole number from 1 to 20");
    }
    return await benchPcap(packets, rounds, values.json ?? false);
  }
  const seconds = Number(
    values.seconds ?? (positionals[0] === "http" ? "5" : "2"),
  );
  if (!(seconds > 0 && seconds <= 60)) {
    throw new UsageError("--seconds takes a number from 0 to 60");
  }
  const extra = (values.cmd ?? []).map((spec) => {
    const at = spec.indexOf("=");
    if (at < 1 || !spec.includes("{port}")) {
      throw new UsageError(`--cmd takes "name=COMMAND {port}", not "${spec}"`);
    }
    return { name: spec.slice(0, at), command: spec.slice(at + 1) };
  });
  const json = values.json ?? false;
  if (positionals[0] === "http") {
    const connections = Number(values.connections);
    if (
      !(Number.isInteger(connections) && connections > 0 &&
        connections <= 10_000)
    ) {
      throw new UsageError(
        "--connections takes a whole number from 1 to 10000",
      );
    }
    return await benchHttp(seconds, connections, extra, json);
  }
  return await benchEcho(seconds, values.only, extra, json);
}

const BUILD = repoPath("logs/.build");

async function benchEcho(
  seconds: number,
  only: string | undefined,
  extra: BenchServer[],
  json: boolean,
): Promise<number> {
  const reference = (slug: string) => repoPath(`katas/${slug}/reference.ts`);
  const syscalls = (slug: string) => repoPath(`katas/${slug}/reference_syscalls.ts`);
  const c = async (slug: string) => `${await buildC(cSource(slug), `${BUILD}/${slug}`)} {port}`;
  const servers: BenchServer[] = [
    { name: "C epoll (kata 2)", command: await c("02-echo-event-loop") },
    { name: "C pthreads (kata 1)", command: await c("01-echo-threaded") },
    {
      name: "Deno event loop (kata 2)",
      command: `${Deno.execPath()} run --allow-net ${reference("02-echo-event-loop")} --port {port}`,
    },
    {
      name: "Deno task/conn (kata 1)",
      command: `${Deno.execPath()} run --allow-net ${reference("01-echo-threaded")} --port {port}`,
    },
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
  const scenarios = SCENARIOS.filter((s) => !only || s.name.includes(only));
  if (scenarios.length === 0) {
    throw new UsageError(`No scenario matches "${only}"`);
  }
  if (!json) {
    console.log(
      `${scenarios.length} scenarios × ${servers.length} servers, ${seconds} s each…\n`,
    );
  }
  const results = await runEchoBench({
    servers,
    scenarios,
    seconds,
    buildDirectory: `${BUILD}/bench`,
    onMeasurement: (m) =>
      json ||
      console.error(
        `  ${m.scenario} · ${m.server}: ${m.error ?? `${Math.round(m.messagesPerSecond)} msgs/s`}`,
      ),
  });
  const file = await save("echo", { seconds, results });
  if (json) console.log(JSON.stringify(results, null, 2));
  else {console.log(
      `\n${formatBench(results, servers[0].name)}\n\nSaved to ${file}`,
    );}
  return results.some((r) => r.error || r.mismatches > 0) ? 1 : 0;
}

async function benchHttp(
  seconds: number,
  connections: number,
  extra: BenchServer[],
  json: boolean,
): Promise<number> {
  const servers: BenchServer[] = [
    {
      name: "Deno.serve",
      command: `${Deno.execPath()} run --allow-net ${repoPath("lib/bench/deno_serve.ts")} {port}`,
    },
    {
      name: "Kata 4 reference",
      command: `${Deno.execPath()} run --allow-net ${repoPath("katas/04-http-server/reference.ts")} --port {port}`,
    },
  ];
  const nginx = await nginxServer();
  if (nginx) servers.push(nginx);
  servers.push(...extra);
  if (!json) {
    console.log(
      `${servers.length} servers, ${connections} connections, ${seconds} s each, Connection: close…`,
    );
    if (!nginx) {
      console.log(
        "(nginx is not installed: apt-get install nginx to compare with it)",
      );
    }
  }
  const results = await runHttpBench({
    servers,
    seconds,
    connections,
    onMeasurement: (m) =>
      json ||
      console.error(
        `  ${m.server}: ${m.error ?? `${Math.round(m.requestsPerSecond)} req/s`}`,
      ),
  });
  const file = await save("http", { seconds, connections, results });
  if (json) console.log(JSON.stringify(results, null, 2));
  else {
    console.log(
      `\nLoad generator: ${results[0]?.generator === "wrk" ? "wrk" : "netkata's Deno generator (no wrk here)"}\n`,
    );
    console.log(
      `${formatHttpBench(results, "Deno.serve")}\n\nSaved to ${file}`,
    );
  }
  return results.some((r) => r.error) ? 1 : 0;
}

/** nginx serving the same page from one process, where nginx is installed. */
async function nginxServer(): Promise<BenchServer | undefined> {
  try {
    await new Deno.Command("nginx", {
      args: ["-v"],
      stdout: "null",
      stderr: "null",
    }).output();
  } catch {
    return undefined;
  }
  // nginx resolves -c against -p: both absolute.
  const dir = decodeURIComponent(
    new URL("../../logs/.build/nginx", import.meta.url).pathname,
  );
  await Deno.mkdir(dir, { recursive: true });
  const page = "<!doctype html>\\n<title>netkata</title>\\n<p>Hello from Kata 4.</p>\\n";
  // One process (no master, one worker), so its CPU and memory are all in one place.
  await Deno.writeTextFile(
    `${dir}/nginx.conf.in`,
    `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log stderr;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:PORT; default_type "text/html; charset=utf-8";
  location = / { return 200 "${page}"; } } }
`,
  );
  return {
    name: "nginx",
    command:
      `sh -c 'sed s/PORT/$0/ ${dir}/nginx.conf.in > ${dir}/nginx.conf && exec nginx -p ${dir} -c ${dir}/nginx.conf' {port}`,
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

function cSource(slug: string): URL {
  return new URL(`../../katas/${slug}/reference.c`, import.meta.url);
}
