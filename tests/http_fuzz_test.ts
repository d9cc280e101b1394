/**
 * The HTTP fuzzer: a seeded, bounded run against the Kata 4 reference is
 * part of the suite, and the fuzzer itself is shown to catch servers that
 * hang, answer malformed responses, accept forbidden heads or die.
 */

import assert from "node:assert/strict";
import { startServer } from "../katas/04-http-server/reference.ts";
import { fuzzHttp, httpFuzzCase } from "../lib/fuzz/http.ts";
import type { FuzzSummary } from "../lib/fuzz/summary.ts";
import { canReset } from "../lib/net/reset.ts";
import { startBrokenHttpServer } from "./fixtures/broken_http_server.ts";
import { requires } from "./_support.ts";

/** A new seed every run, printed on failure: `deno task fuzz http --seed S` replays it. */
const SEED = Math.floor(Math.random() * 2 ** 31);

function describe(summary: FuzzSummary): string {
  const failures = summary.failures.slice(0, 5).map((failure) =>
    `  case ${failure.case}: ${failure.problem}\n    sent: ${failure.input}`
  );
  return [
    `seed ${summary.seed}: ${summary.crashes} crashes, ${summary.hangs} hangs, ${summary.violations} violations`,
    `replay: deno task fuzz http --seed ${summary.seed} --count ${summary.cases}`,
    ...failures,
  ].join("\n");
}

Deno.test(`fuzzHttp() sends 2 000 mutated requests to the kata 4 reference: alive, answered, no 2xx for a forbidden head (seed ${SEED})`, async () => {
  const logged: unknown[][] = [];
  const consoleError = console.error;
  // The reference logs an error it did not expect; that is a finding too.
  console.error = (...args: unknown[]) => logged.push(args);
  const server = startServer({ hostname: "127.0.0.1", port: 0 });
  let summary: FuzzSummary;
  try {
    summary = await fuzzHttp({ port: server.addr.port, count: 2_000, seed: SEED, resets: canReset() });
  } finally {
    await server.close();
    console.error = consoleError;
  }
  assert.equal(summary.cases, 2_000);
  assert.equal(summary.crashes + summary.hangs + summary.violations, 0, describe(summary));
  assert.deepEqual(logged, [], `the reference logged errors (seed ${SEED})`);
});

Deno.test("httpFuzzCase() makes the same case from the same seed and index, and varied cases from different ones", () => {
  const bytes = (seed: number, index: number) => Array.from(httpFuzzCase(seed, index).bytes).join(",");
  assert.equal(bytes(7, 3), bytes(7, 3));
  assert.deepEqual(httpFuzzCase(7, 3), httpFuzzCase(7, 3));
  // Untouched requests repeat (there are eight) and resets send nothing;
  // every mutated case should be new.
  const mutated = Array.from({ length: 500 }, (_, i) => httpFuzzCase(7, i))
    .filter((fuzzCase) => fuzzCase.mutations[0] !== "none" && fuzzCase.ending !== "reset-before-accept");
  const distinct = new Set(mutated.map((fuzzCase) => Array.from(fuzzCase.bytes).join(",")));
  assert.ok(distinct.size > mutated.length * 0.95, `only ${distinct.size} distinct cases of ${mutated.length}`);
  assert.notEqual(bytes(7, 3), bytes(8, 3));
  const mutations = new Set(Array.from({ length: 2_000 }, (_, i) => httpFuzzCase(1, i).mutations).flat());
  for (
    const mutation of [
      "random-bytes",
      "bit-flips",
      "huge-line",
      "many-headers",
      "line-endings",
      "framing",
      "host",
      "pipelined",
    ]
  ) {
    assert.ok(mutations.has(mutation), `no case uses ${mutation}: ${[...mutations].join(", ")}`);
  }
  const deliveries = new Set<string>(Array.from({ length: 2_000 }, (_, i) => httpFuzzCase(1, i).delivery));
  for (const delivery of ["whole", "split", "dribbled"]) assert.ok(deliveries.has(delivery), delivery);
  const endings = new Set<string>(Array.from({ length: 2_000 }, (_, i) => httpFuzzCase(1, i).ending));
  for (const ending of ["half-close", "keep-open", "close-early", "reset-before-accept"]) {
    assert.ok(endings.has(ending), ending);
  }
});

async function fuzzBroken(
  mistake: Parameters<typeof startBrokenHttpServer>[0],
  options: { count: number; deadlineMs?: number; resets?: boolean },
): Promise<FuzzSummary> {
  const server = startBrokenHttpServer(mistake, { hostname: "127.0.0.1", port: 0 });
  try {
    return await fuzzHttp({ port: server.addr.port, seed: SEED, ...options });
  } finally {
    await server.close();
  }
}

Deno.test("fuzzHttp() reports a server that answers 200 to heads RFC 9112 forbids", async () => {
  const summary = await fuzzBroken("accepts-malformed", { count: 300 });
  assert.ok(summary.violations > 0, describe(summary));
  assert.ok(summary.failures.some((failure) => /2xx/.test(failure.problem)), describe(summary));
});

Deno.test("fuzzHttp() reports malformed responses", async () => {
  const summary = await fuzzBroken("lf-only", { count: 100 });
  assert.ok(summary.violations > 0, describe(summary));
  assert.ok(summary.failures.some((failure) => /malformed response/i.test(failure.problem)), describe(summary));
});

Deno.test("fuzzHttp() reports a server that never closes as hanging", async () => {
  const summary = await fuzzBroken("never-closes", { count: 40, deadlineMs: 300 });
  assert.ok(summary.hangs > 0, describe(summary));
});

Deno.test({
  name: `fuzzHttp() reports a crash when the server stops accepting after a reset${
    canReset() ? "" : " [ignored: needs --allow-ffi on Linux; runs in deno task test]"
  }`,
  ignore: !canReset(),
  async fn() {
    const summary = await fuzzBroken("dies-on-reset", { count: 400, resets: true, deadlineMs: 1_000 });
    assert.ok(summary.crashes > 0, describe(summary));
    assert.ok(summary.cases < 400, "a run stops at the first crash");
  },
});

const runs = requires("run", "read");
Deno.test({
  name: `deno task fuzz http runs the reference as its own process and prints a summary with its memory${runs.suffix}`,
  ignore: runs.ignore,
  async fn() {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-run",
        "tasks/fuzz.ts",
        "http",
        "--count",
        "300",
        "--seed",
        "5",
        "--json",
      ],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const summary: FuzzSummary = JSON.parse(new TextDecoder().decode(output.stdout));
    assert.equal(summary.target, "http");
    assert.equal(summary.seed, 5);
    assert.equal(summary.cases, 300);
    assert.equal(summary.crashes + summary.hangs + summary.violations, 0, describe(summary));
    if (Deno.build.os === "linux") assert.ok(summary.rssBefore! > 0 && summary.rssAfter! > 0, "RSS from /proc");
  },
});

Deno.test({
  name: `deno task fuzz answers a wrong target or count with one sentence and status 2${runs.suffix}`,
  ignore: runs.ignore,
  async fn() {
    for (const args of [["ftp"], ["http", "--count", "many"], ["pcap", "--case", "3"]]) {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-net", "--allow-read", "--allow-run", "tasks/fuzz.ts", ...args],
        cwd: new URL("..", import.meta.url).pathname,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 2, `${args.join(" ")}: ${stderr}`);
      assert.match(stderr, /^[A-Z-][^\n]*\nRun `deno task fuzz --help` for the options\.\n$/, args.join(" "));
    }
  },
});
