/**
 * A checker never crashes because of what the implementation does. Whatever
 * a server sends, resets or withholds, and whatever a client does to the
 * fixture server, `deno task kata:N check … --json` prints a report whose
 * failed stage says what went wrong, and exits 1.
 */

import assert from "node:assert/strict";
import type { CheckReport } from "../lib/check/report.ts";
import { HOSTILE_CLIENTS, type HostileClient } from "./fixtures/hostile_client.ts";
import type { HostileServer } from "./fixtures/hostile_server.ts";
import { type KitRun, requires, ROOT, runKit, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");
const SERVER = `${ROOT}tests/fixtures/hostile_server.ts`;
const CLIENT = `${ROOT}tests/fixtures/hostile_client.ts`;
/** The fixtures that reset use libc through FFI: Linux only. */
const onLinux = Deno.build.os === "linux";

/** `deno task kata:N check --cmd COMMAND --json`, as deno.json runs it. */
function checkJson(kata: number, command: string, logs: string): Promise<KitRun> {
  return runKit("kata.ts", [String(kata), "check", "--cmd", command, "--json"], logs);
}

/** The report parses, failed, and its first failure names a stage and blames the implementation. */
function assertFailedVerdict(run: KitRun): CheckReport {
  assert.doesNotMatch(run.stderr, /Uncaught|^\s+at .*:\d+:\d+/m, `the checker crashed:\n${run.stderr}`);
  let report: CheckReport;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    assert.fail(`--json printed no report:\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
  assert.equal(run.code, 1, run.stderr);
  assert.equal(report.passed, false);
  const failures = report.stages.filter((stage) => stage.status === "fail");
  assert.equal(failures.length, 1, JSON.stringify(report.stages, null, 2));
  const [failed] = failures;
  assert.ok(failed.name.length > 0);
  assert.ok(failed.message, `the failed stage "${failed.name}" says nothing`);
  assert.doesNotMatch(failed.message, /unexpected error/, `"${failed.name}" blames the checker: ${failed.message}`);
  const after = report.stages.slice(report.stages.indexOf(failed) + 1);
  assert.ok(after.every((stage) => stage.status === "skip"));
  return report;
}

const firstFailure = (report: CheckReport) => report.stages.find((stage) => stage.status === "fail")!;

/** What each hostile server must fail on, in Kata 1 (the first stage unless it dies later). */
const KATA_1_VERDICTS: Partial<Record<HostileServer, { stage: string; message: RegExp }>> = {
  // A reset that lands before the checker's read is read as the end of the
  // stream (the kernel reports ECONNRESET once, to whichever call comes
  // first, and Deno's write may take it): either wording names what the
  // server did to the connection.
  reset: { stage: "echoes a single byte", message: /reset|closed the connection early/ },
  garbage: { stage: "echoes a single byte", message: /came back different/ },
  silent: { stage: "echoes a single byte", message: /stopped after 0 of 1 bytes/ },
  exits: {
    stage: "echoes 8 MiB to a client that starts reading late (partial writes)",
    message: /the server process exited with status 3/,
  },
};

for (const [mode, verdict] of Object.entries(KATA_1_VERDICTS)) {
  const ffi = mode === "reset";
  const reason = needs.suffix || (ffi && !onLinux ? " [ignored: needs Linux]" : "");
  Deno.test({
    name: `kata:1 check --json gives a verdict on a server that does "${mode}"${reason}`,
    ignore: needs.ignore || (ffi && !onLinux),
    fn: () =>
      withTempDir("netkata-verdicts-", async (logs) => {
        const report = assertFailedVerdict(
          await checkJson(1, `${Deno.execPath()} run --allow-net --allow-ffi ${SERVER} ${mode} {port}`, logs),
        );
        const failed = firstFailure(report);
        assert.equal(failed.name, verdict.stage, failed.message);
        assert.match(failed.message!, verdict.message);
      }),
  });

  Deno.test({
    name: `kata:4 check --json gives a verdict on a server that does "${mode}"${reason}`,
    ignore: needs.ignore || (ffi && !onLinux),
    fn: () =>
      withTempDir("netkata-verdicts-", async (logs) => {
        assertFailedVerdict(
          await checkJson(4, `${Deno.execPath()} run --allow-net --allow-ffi ${SERVER} ${mode} {port}`, logs),
        );
      }),
  });
}

/** What each hostile client must fail on in Kata 3; `undefined`: it must pass every stage. */
const KATA_3_VERDICTS: Record<HostileClient, { stage: string; message: RegExp } | undefined> = {
  resets: { stage: "200: prints the status line and the body", message: /exited with status 1/ },
  "resets-then-works": undefined,
  garbage: { stage: "200: prints the status line and the body", message: /not the status line and body/ },
  "crashes-on-404": { stage: "404: prints the status line and the body", message: /exited with status 1/ },
};

for (const mode of HOSTILE_CLIENTS) {
  const ffi = mode.startsWith("resets");
  const reason = needs.suffix || (ffi && !onLinux ? " [ignored: needs Linux]" : "");
  const verdict = KATA_3_VERDICTS[mode];
  Deno.test({
    name: `kata:3 check --json ${verdict ? "gives a verdict on" : "passes"} a client that does "${mode}"${reason}`,
    ignore: needs.ignore || (ffi && !onLinux),
    fn: () =>
      withTempDir("netkata-verdicts-", async (logs) => {
        const run = await checkJson(
          3,
          `${Deno.execPath()} run --allow-net --allow-ffi --allow-read=${ROOT} ${CLIENT} ${mode} {url}`,
          logs,
        );
        if (verdict === undefined) {
          assert.doesNotMatch(run.stderr, /Uncaught/, `the checker crashed:\n${run.stderr}`);
          const report: CheckReport = JSON.parse(run.stdout);
          const failed = report.stages.find((stage) => stage.status === "fail");
          assert.equal(failed, undefined, `${failed?.name}: ${failed?.message}\n${failed?.details ?? ""}`);
          assert.equal(run.code, 0);
          return;
        }
        const failed = firstFailure(assertFailedVerdict(run));
        assert.equal(failed.name, verdict.stage, failed.message);
        assert.match(failed.message!, verdict.message);
      }),
  });
}
