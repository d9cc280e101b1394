/**
 * Kata 3's checker runs clients against the fixture server: the reference
 * passes, the starter fails, and clients with a classic mistake fail the
 * stage that catches it.
 */

import assert from "node:assert/strict";
import { stages } from "../katas/03-http-client/check.ts";
import { run as reference } from "../katas/03-http-client/reference.ts";
import { run as starter } from "../katas/03-http-client/starter.ts";
import type { RunClient } from "../lib/check/client.ts";
import { runClientCheck } from "../lib/check/run.ts";
import { brokenClient, type ClientMistake } from "./fixtures/broken_http_client.ts";

const KATA_3 = { number: 3, title: "Minimal HTTP/1.1 client", stages };

const check = (run: RunClient) => runClientCheck(KATA_3, { kind: "module", label: "under test", run });

Deno.test("kata 3 checker passes the kata 3 reference", async () => {
  const report = await check(reference);
  const failed = report.stages.find((stage) => stage.status === "fail");
  assert.equal(
    failed,
    undefined,
    `${failed?.name}: ${failed?.message}\n${failed?.details ?? ""}`,
  );
});

Deno.test("kata 3 checker fails the kata 3 starter at the first stage", async () => {
  const report = await check(starter);
  assert.equal(report.stages[0].status, "fail");
  assert.ok(report.stages.slice(1).every((stage) => stage.status === "skip"));
});

const CAUGHT: { mistake: ClientMistake; stage: string; message: RegExp }[] = [
  {
    mistake: "no-host",
    stage: "sends GET /path HTTP/1.1 with Host and Connection: close, CRLF line endings",
    message: /no Host header/,
  },
  {
    mistake: "reads-until-close",
    stage: "reads exactly Content-Length bytes, even when the server keeps the connection open",
    message: /still running after the response was complete/,
  },
  {
    mistake: "one-read",
    stage: "a response that arrives one byte at a time",
    message: /not the status line and body/,
  },
];

for (const { mistake, stage, message } of CAUGHT) {
  Deno.test(`kata 3 checker catches a client that makes the mistake "${mistake}"`, async () => {
    const report = await check(brokenClient(mistake));
    const failed = report.stages.find((s) => s.status === "fail");
    assert.equal(
      failed?.name,
      stage,
      `failed at "${failed?.name}": ${failed?.message}`,
    );
    assert.match(failed?.message ?? "", message);
  });
}
