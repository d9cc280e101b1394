/**
 * The C references, built with the system's cc, pass the same checkers as
 * the Deno references, through a command target.
 */

import assert from "node:assert/strict";
import { stages as concurrentStages } from "../katas/01-echo-threaded/check.ts";
import { stages as eventLoopStages } from "../katas/02-echo-event-loop/check.ts";
import { buildC } from "../lib/tools/build_c.ts";
import { ToolError, Transcript } from "../lib/tools/runner.ts";
import { runCheck } from "../lib/check/run.ts";
import { hasProgram, requires, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");
const haveCc = await hasProgram("cc");

const CASES = [
  {
    number: 1,
    slug: "01-echo-threaded",
    title: "Concurrent echo server (C, pthreads)",
    stages: concurrentStages,
  },
  {
    number: 2,
    slug: "02-echo-event-loop",
    title: "Event-driven echo server (C, epoll)",
    stages: eventLoopStages,
  },
];

for (const kata of CASES) {
  Deno.test({
    name: `kata ${kata.number} checker passes the C reference built with cc${
      needs.suffix || (haveCc ? "" : " [ignored: no cc on PATH]")
    }`,
    ignore: needs.ignore || !haveCc || Deno.build.os !== "linux",
    fn: () =>
      withTempDir("netkata-c-", async (out) => {
        const transcript = new Transcript();
        const binary = await buildC(
          new URL(`../katas/${kata.slug}/reference.c`, import.meta.url),
          out,
          { transcript },
        );
        // cc is a registry tool: it ran through the runner, which wrote it down.
        assert.match(transcript.lines[0], new RegExp(`^\\$ cc -O2 .*${kata.slug}/reference\\.c$`));
        const report = await runCheck(kata, {
          kind: "command",
          command: `${binary} {port}`,
        });
        const failed = report.stages.find((stage) => stage.status === "fail");
        assert.equal(failed, undefined, `${failed?.name}: ${failed?.message}`);
      }),
  });
}

Deno.test({
  name: `buildC() reports a source that does not compile with the compiler's own message${
    needs.suffix || (haveCc ? "" : " [ignored: no cc on PATH]")
  }`,
  ignore: needs.ignore || !haveCc,
  fn: () =>
    withTempDir("netkata-c-", async (out) => {
      const source = `${out}/broken.c`;
      await Deno.writeTextFile(source, "int main(void) { return missing; }\n");
      await assert.rejects(
        buildC(new URL(`file://${source}`), out),
        (error: ToolError) => {
          assert.equal(error.kind, "failed");
          assert.match(error.message, /^\$ cc -O2 .*broken\.c failed:\n/);
          assert.match(error.message, /missing/);
          return true;
        },
      );
    }),
});
