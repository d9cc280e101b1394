import assert from "node:assert/strict";
import { splitCommand, startTarget, TargetError } from "../lib/check/target.ts";
import { hasProgram, requires } from "./_support.ts";

Deno.test("splitCommand() splits like a shell for quotes and escapes", () => {
  assert.deepEqual(splitCommand(`python3 "my server.py" 9000`), [
    "python3",
    "my server.py",
    "9000",
  ]);
  assert.deepEqual(splitCommand(`./a 'x y' b\\ c ""`), [
    "./a",
    "x y",
    "b c",
    "",
  ]);
  assert.deepEqual(splitCommand(`  ./echo\t{port}  `), ["./echo", "{port}"]);
});

Deno.test("splitCommand() rejects an empty command and an unclosed quote", () => {
  assert.throws(() => splitCommand("   "), TargetError);
  assert.throws(() => splitCommand(`./a "oops`), /unclosed " quote/);
});

Deno.test("startTarget() says when nothing listens on an address", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    startTarget({ kind: "address", hostname: "127.0.0.1", port }),
    /Nothing is listening on 127\.0\.0\.1:\d+: start your server first/,
  );
});

Deno.test("startTarget() insists that a command says where {port} goes", async () => {
  await assert.rejects(
    startTarget({ kind: "command", command: "./server 9000" }),
    /put \{port\} in it/,
  );
});

const run = requires("run");

Deno.test({
  name: `startTarget() reports a command that exits before listening, with its output${run.suffix}`,
  ignore: run.ignore || !(await hasProgram("sh", ["-c", "true"])),
  fn: async () => {
    await assert.rejects(
      startTarget({
        kind: "command",
        command: `sh -c "echo cannot bind >&2; exit 3" {port}`,
      }),
      (error: Error) => {
        assert.ok(error instanceof TargetError);
        assert.match(
          error.message,
          /exited with status 3 before listening on 127\.0\.0\.1:\d+/,
        );
        assert.match(error.message, /\| cannot bind/);
        return true;
      },
    );
  },
});

Deno.test({
  name: `startTarget() names a program that does not exist${run.suffix}`,
  ignore: run.ignore,
  fn: async () => {
    await assert.rejects(
      startTarget({
        kind: "command",
        command: "netkata-no-such-program {port}",
      }),
      /Cannot run netkata-no-such-program: no such program/,
    );
  },
});

Deno.test({
  name: `startTarget() quotes a Deno attempt's error plain: no colour codes, no Rust backtrace${
    requires("run", "read", "write").suffix
  }`,
  ignore: requires("run", "read", "write").ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "netkata-plain-" });
    try {
      // A Python file saved as .ts: Deno's parse error is what the learner reads.
      await Deno.writeTextFile(`${dir}/server.ts`, 'import socket\nprint("hi")\n');
      const error = await startTarget({ kind: "deno-file", path: `${dir}/server.ts` }).then(
        () => assert.fail("a file that does not parse started"),
        (error: Error) => error,
      );
      assert.ok(error instanceof TargetError, String(error));
      assert.match(error.message, /SyntaxError/);
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(error.message, /\x1b\[/, "colour codes in the quoted output");
      assert.doesNotMatch(error.message, /Stack backtrace/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
