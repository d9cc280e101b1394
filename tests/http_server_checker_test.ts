/**
 * Kata 4's checker grades real HTTP servers: the reference passes, the
 * starter fails, and each broken server fails the stage that catches its
 * mistake, with the hint that names it.
 */

import assert from "node:assert/strict";
import { stages } from "../katas/04-http-server/check.ts";
import { startServer as reference } from "../katas/04-http-server/reference.ts";
import { startServer as starter } from "../katas/04-http-server/starter.ts";
import { runCheck } from "../lib/check/run.ts";
import { canReset } from "../lib/net/reset.ts";
import type { StartServer } from "../lib/check/target.ts";
import { type ServerMistake, startBrokenHttpServer } from "./fixtures/broken_http_server.ts";

const KATA_4 = { number: 4, title: "Minimal HTTP/1.1 server", stages };
const stageNamed = (words: string) => {
  const stage = stages.find((s) => s.name.includes(words));
  assert.ok(stage, `no stage mentions "${words}"`);
  return stage.name;
};
const check = (start: StartServer) => runCheck(KATA_4, { kind: "module", label: "under test", start });

Deno.test("kata 4 checker passes the kata 4 reference", async () => {
  const report = await check(reference);
  const failed = report.stages.find((stage) => stage.status === "fail");
  assert.equal(
    failed,
    undefined,
    `${failed?.name}: ${failed?.message}\n${failed?.details ?? ""}`,
  );
  assert.equal(report.passed, true);
});

Deno.test("kata 4 checker fails the kata 4 starter at its first stage that can run", async () => {
  const report = await check(starter);
  const failed = report.stages.find((stage) => stage.status === "fail");
  assert.ok(failed);
  assert.ok(
    [stages[0].name, stages[1].name].includes(failed.name),
    `failed first at "${failed.name}"`,
  );
  assert.equal(report.passed, false);
});

const CAUGHT: { mistake: ServerMistake; stage: string; hint: RegExp; needsResets?: boolean }[] = [
  {
    mistake: "no-content-length",
    stage: stages[1].name,
    hint: /Content-Length is the body's length/,
  },
  { mistake: "lf-only", stage: stages[1].name, hint: /ends in \\r\\n/ },
  {
    mistake: "never-closes",
    stage: stages[1].name,
    hint: /close the connection/,
  },
  {
    mistake: "one-read",
    stage: stages[3].name,
    hint: /several reads, split anywhere/,
  },
  { mistake: "accepts-malformed", stage: stageNamed("malformed"), hint: /answer 400/ },
  { mistake: "waits-for-crlf", stage: stageNamed("malformed"), hint: /\\n arrives without a \\r/ },
  { mistake: "allows-two-hosts", stage: stageNamed("malformed"), hint: /exactly one Host/ },
  { mistake: "dies-on-reset", stage: stageNamed("connect and reset"), hint: /for await/, needsResets: true },
];

for (const { mistake, stage, hint, needsResets } of CAUGHT) {
  const ignore = needsResets && !canReset();
  Deno.test({
    name: `kata 4 checker catches a server that makes the mistake "${mistake}"${
      ignore ? " [ignored: needs --allow-ffi on Linux; runs in deno task test]" : ""
    }`,
    ignore,
  }, async () => {
    const report = await check((options) => startBrokenHttpServer(mistake, options));
    const failed = report.stages.find((s) => s.status === "fail");
    assert.equal(
      failed?.name,
      stage,
      `failed at "${failed?.name}": ${failed?.message}`,
    );
    assert.match(failed?.hint ?? "", hint);
  });
}
