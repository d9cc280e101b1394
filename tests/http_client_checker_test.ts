/**
 * Kata 3's checker runs clients against the fixture server: the reference
 * passes, the starter fails, and clients with a classic mistake fail the
 * stage that catches it.
 */

import assert from "node:assert/strict";
import { stages } from "../katas/03-http-client/check.ts";
import { run as reference } from "../katas/03-http-client/reference.ts";
import { run as starter } from "../katas/03-http-client/starter.ts";
import { clientUnderTest, MAX_CLIENT_OUTPUT_BYTES, type RunClient } from "../lib/check/client.ts";
import { runClientCheck } from "../lib/check/run.ts";
import { brokenClient, type ClientMistake } from "./fixtures/broken_http_client.ts";
import { requires } from "./_support.ts";

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

const run = requires("run");

Deno.test({
  name: `clientUnderTest() keeps at most ${MAX_CLIENT_OUTPUT_BYTES / 2 ** 20} MiB of what a client prints${run.suffix}`,
  ignore: run.ignore,
  async fn() {
    // 64 MiB on stdout and 1 MiB on stderr: a client gone wild must not fill the checker's memory.
    const flood = "const mib = new Uint8Array(1 << 20).fill(0x61);" +
      "for (let i = 0; i < 64; i++) await Deno.stdout.write(mib);" +
      "await Deno.stderr.write(mib);";
    const client = clientUnderTest({
      kind: "command",
      command: `${Deno.execPath()} eval ${JSON.stringify(flood)} {url}`,
    });
    const result = await client.run("http://localhost:9/", 9);
    assert.equal(result.code, 0, result.stderr.slice(0, 500));
    assert.equal(result.stdout.length, MAX_CLIENT_OUTPUT_BYTES);
    assert.equal(result.stdoutTruncated, true);
    assert.ok(result.stderr.length <= 64 * 1024, `kept ${result.stderr.length} characters of stderr`);
  },
});

Deno.test("kata 3 checker says when a client printed more than it keeps", async () => {
  const chatty: RunClient = async (_args, output) => {
    const mib = new Uint8Array(1 << 20).fill(0x61);
    for (let i = 0; i < 32; i++) await output.stdout.write(mib);
    return 0;
  };
  const report = await check(chatty);
  assert.equal(report.stages[0].status, "fail");
  assert.match(report.stages[0].message ?? "", /printed more than 16 MiB/);
});
