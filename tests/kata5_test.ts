/**
 * Kata 5: the labelling practice accepts the spellings learners use; the
 * checker grades the whole conversation of a capture that holds several and
 * says what happened to the others. (The catalog self-test grades it on the
 * kit's capture and on broken ones too.)
 */

import assert from "node:assert/strict";
import { findKata } from "../katas/catalog.ts";
import { runCheck } from "../lib/check/run.ts";
import { captureSubject } from "../lib/kinds/capture.ts";
import { normalizeLabel } from "../lib/kinds/capture_practice.ts";
import { close, data, handshake, tsharkAgrees } from "../lib/stages/capture.ts";
import { createUniqueFile } from "../lib/report/unique_file.ts";
import { requires, withTempDir } from "./_support.ts";

const files = requires("read", "write");

Deno.test({
  name: `createUniqueFile() keeps two captures made in the same second apart${files.suffix}`,
  ignore: files.ignore,
  fn: () =>
    withTempDir("netkata-capture-", async (dir) => {
      // Captures are named by the second: two in one second share a stem.
      const stem = `${dir}/2026-11-27T01-18-46`;
      const [first, second] = await Promise.all([
        createUniqueFile(stem, ".pcap", "first"),
        createUniqueFile(stem, ".pcap", "second"),
      ]);
      assert.deepEqual([first, second].sort(), [stem, `${stem}-2`]);
      assert.deepEqual(
        (await Promise.all([first, second].map((s) => Deno.readTextFile(`${s}.pcap`)))).sort(),
        ["first", "second"],
      );
    }),
});

Deno.test("normalizeLabel() accepts the usual spellings of the labels", () => {
  assert.equal(normalizeLabel("syn ack"), "SYN-ACK");
  assert.equal(normalizeLabel("SYN/ACK"), "SYN-ACK");
  assert.equal(normalizeLabel(" fin,ack "), "FIN");
  assert.equal(normalizeLabel("psh"), "DATA");
  assert.equal(normalizeLabel("ack"), "ACK");
  assert.equal(normalizeLabel("hello"), undefined);
});

const PCAP = (name: string) => decodeURIComponent(new URL(`./fixtures/pcap/${name}`, import.meta.url).pathname);
const reads = requires("read");

/** Kata 5's stages on the capture `name`, tshark's comparison left out (tests/capture_cases_test.ts has it). */
async function checkCapture(name: string) {
  const kata = findKata(5)!;
  assert.equal(kata.kind, "capture");
  const stages = (await kata.loadStages()).filter((stage) => stage.name !== tsharkAgrees.name);
  return await runCheck({ ...kata, stages }, await captureSubject(PCAP(name)));
}

function checkTest(name: string, fn: () => Promise<void>) {
  Deno.test({ name: `${name}${reads.suffix}`, ignore: reads.ignore, fn });
}

checkTest("Kata 5 check grades the whole conversation after a refused attempt, and names the refused one", async () => {
  const report = await checkCapture("refused-then-whole.pcap");
  const failed = report.stages.find((stage) => stage.status === "fail");
  assert.equal(failed, undefined, `${failed?.name}: ${failed?.message}`);
  const summary = report.stages[0].message ?? "";
  assert.match(summary, /^2 conversations/m);
  assert.match(summary, /graded: 127\.0\.0\.1:37268 → 127\.0\.0\.1:12345, #3–#10, whole/);
  assert.match(summary, /not graded: 127\.0\.0\.1:37258 → 127\.0\.0\.1:12345, #1–#2, refused/);
});

checkTest("Kata 5 check grades the whole first conversation and names the second, reset one", async () => {
  const report = await checkCapture("two-conversations-second-reset.pcap");
  assert.equal(report.passed, true);
  assert.match(report.stages[0].message ?? "", /graded: 127\.0\.0\.1:37270 → 127\.0\.0\.1:12345, #1–#8, whole/);
  assert.match(
    report.stages[0].message ?? "",
    /not graded: 127\.0\.0\.1:37282 → 127\.0\.0\.1:12345, #9–#14, reset by the client/,
  );
});

checkTest("Kata 5 check passes a whole conversation after a SYN rejected by ICMP", async () => {
  const report = await checkCapture("icmp-rejected-then-whole.pcap");
  assert.equal(report.passed, true);
  assert.match(report.stages[0].message ?? "", /not graded: 127\.0\.0\.1:41376 → 127\.0\.0\.1:12346, #1, no answer/);
});

checkTest("Kata 5 check says a SYN answered by RST was refused, not that tcpdump started late", async () => {
  const failed = (await checkCapture("refused.pcap")).stages.find((stage) => stage.status === "fail");
  assert.equal(failed?.name, handshake.name);
  assert.match(failed?.hint ?? "", /refused/);
  assert.doesNotMatch(failed?.hint ?? "", /started after|stopped/);
});

checkTest("Kata 5 check says a connection ended by RST was reset, not that tcpdump stopped too early", async () => {
  const failed = (await checkCapture("reset-after-data.pcap")).stages.find((stage) => stage.status === "fail");
  assert.equal(failed?.name, close.name);
  assert.match(failed?.hint ?? "", /reset: the client sent RST \(#6\) instead of a FIN/);
  assert.doesNotMatch(failed?.hint ?? "", /stopped|too early/);
});

checkTest(
  'Kata 5 check passes the core on a whole conversation without data (the seed\'s "if any"), data a stretch',
  async () => {
    const report = await checkCapture("no-data.pcap");
    assert.equal(report.passed, true);
    const stage = report.stages.find((stage) => stage.name === data.name);
    assert.deepEqual([stage?.level, stage?.status], ["stretch", "fail"]);
  },
);
