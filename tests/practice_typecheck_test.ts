/**
 * The type check of a practice attempt: a warm `deno lsp`, or `deno check`,
 * give the same verdict, and a type error is a failed stage that says where.
 */

import assert from "node:assert/strict";
import { TYPE_CHECK_STAGE, TypeChecker } from "../lib/practice/typecheck.ts";
import { requires, withTempDir } from "./_support.ts";
import { canSeeProcesses, findDescendant } from "./_processes.ts";

const needs = requires("run", "read", "write");
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

for (const languageServer of [true, false]) {
  Deno.test({
    name: `TypeChecker (${
      languageServer ? "language server" : "deno check"
    }) passes the reference and fails a type error${needs.suffix}`,
    ignore: needs.ignore,
    fn: () =>
      withTempDir("netkata-typecheck-", async (dir) => {
        const file = `${dir}/attempt-001.ts`;
        const reference = await Deno.readTextFile(`${ROOT}katas/01-echo-threaded/reference.ts`);
        await using checker = new TypeChecker({ languageServer });
        await Deno.writeTextFile(file, reference);
        const passed = await checker.run(file);
        assert.equal(passed.name, TYPE_CHECK_STAGE);
        assert.equal(passed.status, "pass", passed.message);
        await Deno.writeTextFile(file, `${reference}\nconst port: number = "9000";\n`);
        const failed = await checker.run(file);
        assert.equal(failed.status, "fail");
        assert.equal(failed.message, `TS2322: Type 'string' is not assignable to type 'number'.`);
        const line = reference.split("\n").length + 1;
        assert.equal(failed.details, `at ${file}:${line}:7`);
        await Deno.writeTextFile(file, reference);
        assert.equal((await checker.run(file)).status, "pass", "back to the passing content");
      }),
  });
}

Deno.test({
  name: `TypeChecker stopped while it checks: the check rejects, and no language server is left${needs.suffix}`,
  ignore: needs.ignore,
  fn: () =>
    withTempDir("netkata-typecheck-", async (dir) => {
      const file = `${dir}/attempt-001.ts`;
      await Deno.copyFile(`${ROOT}katas/01-echo-threaded/starter.ts`, file);
      // Stopped at once (before it has read the file), and a moment later (while its server starts).
      for (const wait of [undefined, 0, 1, 10]) {
        const checker = new TypeChecker();
        const outcome = checker.run(file).then(() => new Error("passed"), (error: Error) => error);
        if (wait !== undefined) await new Promise((resolve) => setTimeout(resolve, wait));
        await checker[Symbol.asyncDispose]();
        assert.match((await outcome).message, /The type checker was stopped/);
        await assert.rejects(checker.run(`${file}`), /stopped/, "a stopped checker checks nothing more");
        if (canSeeProcesses) {
          const server = await findDescendant(Deno.pid, (args) => args.startsWith(`${Deno.execPath()} lsp`));
          assert.equal(server, undefined, `a language server is left: pid ${server?.pid}`);
        }
      }
    }),
});
