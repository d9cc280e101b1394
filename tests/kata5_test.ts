/**
 * Kata 5's labelling practice accepts the spellings learners use. (Its
 * checker is graded on real and broken captures by the catalog self-test.)
 */

import assert from "node:assert/strict";
import { normalizeLabel } from "../lib/kinds/capture_practice.ts";

Deno.test("normalizeLabel() accepts the usual spellings of the labels", () => {
  assert.equal(normalizeLabel("syn ack"), "SYN-ACK");
  assert.equal(normalizeLabel("SYN/ACK"), "SYN-ACK");
  assert.equal(normalizeLabel(" fin,ack "), "FIN");
  assert.equal(normalizeLabel("psh"), "DATA");
  assert.equal(normalizeLabel("ack"), "ACK");
  assert.equal(normalizeLabel("hello"), undefined);
});
