/**
 * The course checks itself, rustlings-style. One test per kata in the
 * catalog, with the same steps for every kata of a kind: its card has its
 * sections, its files are there, `deno.json` has its task and the README its
 * row; the reference passes; the starter fails at its first stage that can
 * run; each broken implementation (tests/fixtures/broken.ts) fails the stage
 * it names, with the hint it names; the C reference, where there is one,
 * passes too. A kata added to the catalog is tested here without a test of
 * its own: the test-only entry of tests/fixtures/kata-07/ proves it.
 */

import assert from "node:assert/strict";
import { KATAS } from "../katas/catalog.ts";
import type { CheckReport } from "../lib/check/report.ts";
import { runCheck, serverSubject } from "../lib/check/run.ts";
import { TargetError } from "../lib/check/target.ts";
import { captureSubject } from "../lib/kinds/capture.ts";
import { clientKataSubject } from "../lib/kinds/client.ts";
import { sweepSubject } from "../lib/kinds/experiment.ts";
import type { CatalogKata, ServerKata } from "../lib/kinds/mod.ts";
import { serverKataSubject } from "../lib/kinds/server.ts";
import { syscallFileTarget } from "../lib/kinds/syscall_track.ts";
import { captureHandshake } from "../lib/lab/handshake.ts";
import { runSweep } from "../lib/loss/sweep.ts";
import { buildC } from "../lib/tools/build_c.ts";
import { BROKEN, type BrokenCase, type BrokenTarget } from "./fixtures/broken.ts";
import { FIXTURE_KATA } from "./fixtures/kata-07/entry.ts";
import { hasProgram, isRoot, requires, withTempDir } from "./_support.ts";

const reads = requires("read");
const builds = requires("run", "read", "write");
const haveCc = !builds.ignore && await hasProgram("cc");
const canCapture = !builds.ignore && isRoot() && await hasProgram("tcpdump", ["--version"]) &&
  await hasProgram("nc", ["-h"]);
const canSweep = !builds.ignore && isRoot() && await hasProgram("ip", ["-V"]) &&
  await hasProgram("nft", ["--version"]) && await hasProgram("iperf3", ["--version"]);
const ROOT = new URL("../", import.meta.url);

/** What to grade: the kata's reference, or a target in its kind's form. */
type Target = "reference" | BrokenTarget;

/** Grades `target` with `kata`'s stages, through the kind's own subject and the one runner. */
async function grade(kata: CatalogKata, target: Target): Promise<CheckReport> {
  const given = target === "reference" ? kata.kind : Object.keys(target)[0];
  const mismatch = (): never => assert.fail(`kata ${kata.number} is a ${kata.kind} kata, not a ${given} kata`);
  switch (kata.kind) {
    case "server": {
      const spec = target === "reference" ? target : "server" in target ? target.server : mismatch();
      return await runCheck({ ...kata, stages: await kata.loadStages() }, await serverKataSubject(kata, spec));
    }
    case "client": {
      const spec = target === "reference" ? target : "client" in target ? target.client : mismatch();
      return await runCheck({ ...kata, stages: await kata.loadStages() }, await clientKataSubject(kata, spec));
    }
    case "capture": {
      const made = target === "reference" ? await kitCapture(kata) : undefined;
      try {
        const path = made ?? (target !== "reference" && "capture" in target ? target.capture : mismatch());
        return await runCheck({ ...kata, stages: await kata.loadStages() }, await captureSubject(path));
      } finally {
        if (made) await Deno.remove(made);
      }
    }
    case "experiment": {
      const { result, udpRate } = target === "reference"
        // 10 Mbit/s, a rate a busy two-core machine sends without dropping
        // packets itself, and the median of three runs, which one run
        // disturbed by the machine's other work does not move: the loss
        // measured is then the loss applied.
        ? { result: await runSweep({ losses: [0, 10], repeats: 3, seconds: 1, udpRate: "10M" }), udpRate: 10e6 }
        : "experiment" in target
        ? target.experiment
        : mismatch();
      return await runCheck({ ...kata, stages: await kata.loadStages() }, sweepSubject("sweep", result, udpRate));
    }
  }
}

/** The kit's own capture, a capture kata's reference, made in a private lab. */
async function kitCapture(kata: CatalogKata & { kind: "capture" }): Promise<string> {
  const output = await Deno.makeTempFile({ prefix: "netkata-capture-", suffix: ".pcap" });
  await captureHandshake({ output, ...kata.conversation });
  return output;
}

/** Why the reference cannot be graded here, or undefined when it can. */
function referenceIgnored(kata: CatalogKata): string | undefined {
  if (kata.kind === "capture" && !canCapture) return "needs root, tcpdump and nc";
  if (kata.kind === "experiment" && !canSweep) return "needs root, ip, nft and iperf3";
}

function firstFailure(report: CheckReport) {
  const failed = report.stages.find((stage) => stage.status === "fail");
  assert.ok(failed, "every stage passed");
  return failed;
}

/** The kind's own files, beside the card and the checker. */
function kindFiles(kata: CatalogKata): string[] {
  switch (kata.kind) {
    case "server":
      return [
        "reference.ts",
        "starter.ts",
        ...(kata.referenceC ? [kata.referenceC] : []),
        ...(kata.syscalls ? [kata.syscalls.reference, kata.syscalls.starter] : []),
      ];
    case "client":
      return ["reference.ts", "starter.ts"];
    case "capture":
      return ["starter.md"]; // the labelling worksheet
    case "experiment":
      return [kata.probe];
  }
}

async function assertCard(kata: CatalogKata): Promise<void> {
  const card = await Deno.readTextFile(new URL("KATA.md", kata.directory));
  assert.match(card, new RegExp(`^# Kata ${kata.number} · \\S`), "the card's title");
  assert.match(card, new RegExp(`^\\*\\*Time limit:\\*\\* ${kata.timeLimitMinutes} minutes$`, "m"));
  const tracks = kata.kind === "server" && kata.syscalls ? ["Syscall track"] : [];
  for (const section of ["Goal", "Setup", "Repeat until", "Common mistakes", ...tracks]) {
    assert.match(card, new RegExp(`^## ${section}$`, "m"), `the card has no "## ${section}"`);
  }
  for (const file of ["check.ts", ...kindFiles(kata)]) {
    const info = await Deno.stat(new URL(file, kata.directory));
    assert.ok(info.isFile, file);
  }
}

/** The task that runs the kata and the README row that lists it. */
async function assertListed(kata: CatalogKata): Promise<void> {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks;
  const task = tasks[`kata:${kata.number}`];
  assert.ok(task, `deno.json has no task kata:${kata.number}`);
  assert.match(task.command, new RegExp(`tasks/kata\\.ts ${kata.number}$`));
  assert.doesNotMatch(task.description, /card only|not built/i, "a stale description");
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const row = readme.split("\n").find((line) => line.startsWith(`| ${kata.number} | [`));
  assert.ok(row, `README.md has no row for kata ${kata.number}`);
  assert.ok(row.includes(`(katas/${kata.slug}/KATA.md)`), row);
  assert.match(row, new RegExp(`\\| ${kata.timeLimitMinutes} min +\\|`));
}

/** Its starter's subject, for the kinds whose attempt is code. */
async function starterTarget(kata: CatalogKata): Promise<BrokenTarget | undefined> {
  switch (kata.kind) {
    case "server":
      return { server: { kind: "module", label: "starter", start: await kata.loadStarter() } };
    case "client":
      return { client: { kind: "module", label: "starter", run: await kata.loadStarter() } };
  }
}

function brokenStep(t: Deno.TestContext, kata: CatalogKata, broken: BrokenCase) {
  const needs = requires(...(broken.needs ?? []));
  return t.step({
    name: `catches "${broken.mistake}" ${
      broken.startError ? "before it starts" : `at "${broken.stage}"`
    }${needs.suffix}`,
    ignore: needs.ignore,
    fn: async () => {
      if (broken.startError) {
        const error = await grade(kata, broken.target).then(() => undefined, (error) => error);
        assert.ok(error instanceof TargetError, `it started: ${error}`);
        assert.match(error.message, broken.startError);
        return;
      }
      const failed = firstFailure(await grade(kata, broken.target));
      assert.equal(failed.name, broken.stage, `failed at "${failed.name}": ${failed.message}`);
      if (broken.hint) assert.match(failed.hint ?? "", broken.hint);
      if (broken.message) assert.match(failed.message ?? "", broken.message);
    },
  });
}

const spawnsFfi = requires("run", "read", "ffi");

/**
 * The syscall track: its reference, run as its own process with
 * --allow-ffi, passes; its starter fails, here before it even listens.
 */
async function syscallSteps(t: Deno.TestContext, kata: ServerKata) {
  const ignore = spawnsFfi.ignore || Deno.build.os !== "linux";
  const suffix = spawnsFfi.suffix || (Deno.build.os === "linux" ? "" : " [ignored: the syscall track is Linux's]");
  await t.step({
    name: `the syscall-track reference passes${suffix}`,
    ignore,
    fn: async () => {
      const report = await runCheck(
        { ...kata, stages: await kata.loadStages() },
        await serverKataSubject(kata, "reference-syscalls"),
      );
      const failed = report.stages.find((stage) => stage.status === "fail");
      assert.equal(failed, undefined, `${failed?.name}: ${failed?.message}\n${failed?.details ?? ""}`);
    },
  });
  await t.step({
    name: `the syscall-track starter fails: it says what is not written yet${suffix}`,
    ignore,
    fn: async () => {
      const file = decodeURIComponent(new URL(kata.syscalls!.starter, kata.directory).pathname);
      const starting = grade(kata, { server: await syscallFileTarget(file) });
      const error = await starting.then(() => undefined, (error) => error);
      assert.ok(error instanceof TargetError, `it started: ${error}`);
      assert.match(error.message, /exited with status 1 before listening[\s\S]*Not written yet: listenOn/);
    },
  });
}

/** Every step of the self-test, for one catalog entry. */
function selfTest(kata: CatalogKata, listed: boolean) {
  Deno.test(`kata ${kata.number} (${kata.kind}): the catalog entry checks itself`, async (t) => {
    await t.step({
      name: `its card has its sections and its folder its files${reads.suffix}`,
      ignore: reads.ignore,
      fn: () => assertCard(kata),
    });
    await t.step({
      name: listed
        ? `deno.json has its task and the README its row${reads.suffix}`
        : `the self-test notices it has no deno.json task nor README row${reads.suffix}`,
      ignore: reads.ignore,
      fn: () => listed ? assertListed(kata) : assert.rejects(assertListed(kata), assert.AssertionError),
    });
    const ignored = referenceIgnored(kata);
    await t.step({
      name: `the reference passes${ignored ? ` [ignored: ${ignored}]` : ""}`,
      ignore: ignored !== undefined,
      fn: async () => {
        const report = await grade(kata, "reference");
        const failed = report.stages.find((stage) => stage.status === "fail");
        assert.equal(failed, undefined, `${failed?.name}: ${failed?.message}\n${failed?.details ?? ""}`);
      },
    });
    const starter = await starterTarget(kata);
    if (starter) {
      await t.step("the starter fails, at its first stage that can run", async () => {
        const report = await grade(kata, starter);
        assert.equal(report.passed, false);
        const first = report.stages.find((stage) => stage.status !== "skip");
        assert.equal(first?.status, "fail", `"${first?.name}" ${first?.status}`);
      });
    }
    if (kata.kind === "server" && kata.syscalls) await syscallSteps(t, kata);
    for (const broken of BROKEN.filter((broken) => broken.kata === kata.number)) {
      await brokenStep(t, kata, broken);
    }
    if (kata.kind === "server" && kata.referenceC) {
      const source = new URL(kata.referenceC, kata.directory);
      await t.step({
        name: `the C reference, built with cc, passes${builds.suffix || (haveCc ? "" : " [ignored: no cc on PATH]")}`,
        ignore: !haveCc || Deno.build.os !== "linux",
        fn: () =>
          withTempDir("netkata-c-", async (out) => {
            const binary = await buildC(source, out);
            const report = await runCheck(
              { ...kata, stages: await kata.loadStages() },
              await serverSubject({ kind: "command", command: `${binary} {port}` }),
            );
            const failed = report.stages.find((stage) => stage.status === "fail");
            assert.equal(failed, undefined, `${failed?.name}: ${failed?.message}`);
          }),
      });
    }
  });
}

for (const kata of KATAS) selfTest(kata, true);
selfTest(FIXTURE_KATA, false);

Deno.test("the catalog numbers its katas 1, 2, 3… and each folder is named after its number", () => {
  KATAS.forEach((kata, i) => {
    assert.equal(kata.number, i + 1);
    assert.match(kata.slug, new RegExp(`^${String(kata.number).padStart(2, "0")}-[a-z0-9-]+$`));
    assert.ok(kata.directory.href.endsWith(`/katas/${kata.slug}/`), kata.directory.href);
  });
});

Deno.test("every broken implementation names a kata of the catalog, of the kind its target is for", () => {
  const katas = [...KATAS, FIXTURE_KATA];
  for (const broken of BROKEN) {
    const kata = katas.find((kata) => kata.number === broken.kata);
    assert.ok(kata, `"${broken.mistake}" names kata ${broken.kata}, which is not in the catalog`);
    assert.equal(Object.keys(broken.target)[0], kata.kind, broken.mistake);
    assert.ok(
      (broken.stage === undefined) !== (broken.startError === undefined),
      `${broken.mistake}: a stage or a start error`,
    );
  }
});
