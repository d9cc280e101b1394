/**
 * Kata 5's labelling practice accepts the spellings learners use. (Its
 * checker is graded on real and broken captures by the catalog self-test.)
 */

import assert from "node:assert/strict";
import { normalizeLabel } from "../lib/kinds/capture_practice.ts";
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
