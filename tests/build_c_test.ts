/**
 * The C build step: cc runs through the tool runner like every registry
 * tool, and a source that does not compile is reported with the compiler's
 * own words. (That the C references pass their checkers is part of the
 * catalog self-test.)
 */

import assert from "node:assert/strict";
import { buildC } from "../lib/tools/build_c.ts";
import { ToolError, Transcript } from "../lib/tools/runner.ts";
import { hasProgram, requires, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");
const haveCc = await hasProgram("cc");
const suffix = needs.suffix || (haveCc ? "" : " [ignored: no cc on PATH]");

Deno.test({
  name: `buildC() runs cc through the tool runner, which writes its command down${suffix}`,
  ignore: needs.ignore || !haveCc,
  fn: () =>
    withTempDir("netkata-c-", async (out) => {
      const transcript = new Transcript();
      const binary = await buildC(new URL("../katas/01-echo-threaded/reference.c", import.meta.url), out, {
        transcript,
      });
      assert.equal(binary, `${out}/reference`);
      assert.ok((await Deno.stat(binary)).isFile);
      assert.deepEqual(transcript.lines.length, 1);
      assert.match(
        transcript.lines[0],
        /^\$ cc -O2 -Wall -Wextra -pthread -o \S+\/reference \S+\/01-echo-threaded\/reference\.c$/,
      );
    }),
});

Deno.test({
  name: `buildC() reports a source that does not compile with the compiler's own message${suffix}`,
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
