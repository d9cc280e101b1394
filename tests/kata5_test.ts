/**
 * Kata 5's checker grades capture files: a whole conversation passes, a
 * capture stopped too early fails the stage that names what is missing.
 */

import assert from "node:assert/strict";
import { stages } from "../katas/05-tcp-handshake/check.ts";
import { normalizeLabel } from "../lib/practice/label_session.ts";
import { runCaptureCheck } from "../lib/check/run.ts";
import { createUniqueFile } from "../lib/report/unique_file.ts";
import { requires, withTempDir } from "./_support.ts";

const files = requires("read", "write");
const FIXTURES = decodeURIComponent(
  new URL("./fixtures/pcap/", import.meta.url).pathname,
);
const KATA_5 = {
  number: 5,
  title: "Capture and annotate a TCP handshake",
  stages,
};

Deno.test({
  name: `kata 5 checker passes a whole conversation${files.suffix}`,
  ignore: files.ignore,
  fn: async () => {
    const report = await runCaptureCheck(
      KATA_5,
      `${FIXTURES}handshake-ethernet.pcap`,
    );
    assert.equal(
      report.passed,
      true,
      JSON.stringify(report.stages.filter((s) => s.status === "fail")),
    );
  },
});

Deno.test({
  name: `kata 5 checker fails a capture that misses the close, naming what is missing${files.suffix}`,
  ignore: files.ignore,
  fn: () =>
    withTempDir("netkata-capture-", async (dir) => {
      // The first five records of the Ethernet capture: handshake, data, its ACK.
      const whole = await Deno.readFile(`${FIXTURES}handshake-ethernet.pcap`);
      let end = 24;
      for (let i = 0; i < 5; i++) {
        end += 16 + new DataView(whole.buffer).getUint32(end + 8, true);
      }
      await Deno.writeFile(`${dir}/early.pcap`, whole.slice(0, end));
      const report = await runCaptureCheck(KATA_5, `${dir}/early.pcap`);
      const failed = report.stages.find((s) => s.status === "fail");
      assert.equal(
        failed?.name,
        "the close: FIN, its ACK, the other FIN, the last ACK",
      );
      assert.equal(
        failed?.message,
        "Missing: FIN from one side, ACK of that FIN, FIN from the other side, last ACK",
      );
    }),
});

Deno.test({
  name: `kata 5 checker fails a file that is not a capture, without a stack trace${files.suffix}`,
  ignore: files.ignore,
  fn: async () => {
    const report = await runCaptureCheck(KATA_5, `${FIXTURES}README.md`);
    assert.equal(report.stages[0].status, "fail");
    assert.match(report.stages[0].message ?? "", /^Not a pcap or pcapng file/);
    const missing = await runCaptureCheck(KATA_5, `${FIXTURES}nope.pcap`);
    assert.match(missing.stages[0].message ?? "", /^No such file/);
  },
});

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
