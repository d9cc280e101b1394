/**
 * A client under test that prints without end must not fill the checker's
 * memory: what it keeps is capped, and the verdict says so.
 */

import assert from "node:assert/strict";
import { fixture, stages } from "../katas/03-http-client/check.ts";
import { clientUnderTest, MAX_CLIENT_OUTPUT_BYTES, type RunClient } from "../lib/check/client.ts";
import { clientSubject, runCheck } from "../lib/check/run.ts";
import { requires } from "./_support.ts";

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
  const report = await runCheck(
    { number: 3, title: "Minimal HTTP/1.1 client", stages },
    clientSubject({ kind: "module", label: "chatty client", run: chatty }, () => fixture.start()),
  );
  assert.equal(report.stages[0].status, "fail");
  assert.match(report.stages[0].message ?? "", /printed more than 16 MiB/);
});
