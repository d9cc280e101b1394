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
      (error: Error) => {
        assert.equal(
          error.message,
          "Cannot run netkata-no-such-program: no such program (check the command, or give the program's full path)",
        );
        return true;
      },
    );
  },
});

Deno.test({
  name: `startTarget() says, in one sentence, that a program is not executable${requires("run", "write").suffix}`,
  ignore: requires("run", "write").ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "netkata-noexec-" });
    try {
      await Deno.writeTextFile(`${dir}/server`, "#!/bin/sh\n", { mode: 0o644 });
      await assert.rejects(startTarget({ kind: "command", command: `${dir}/server {port}` }), (error: Error) => {
        assert.equal(
          error.message,
          `Cannot run ${dir}/server: permission denied (make it executable: chmod +x ${dir}/server)`,
        );
        return true;
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const QUOTED_OUTPUT = decodeURIComponent(new URL("./fixtures/quoted_output.ts", import.meta.url).pathname);
const quotes = requires("run", "read", "write");

Deno.test({
  name:
    `startTarget() and clientUnderTest() quote a Deno attempt's error plain (no colour codes, no Rust backtrace) and leave a --cmd program its RUST_BACKTRACE${quotes.suffix}`,
  ignore: quotes.ignore || !(await hasProgram("sh", ["-c", "true"])),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "netkata-plain-" });
    try {
      // A Python file saved as .ts: Deno's parse error is what the learner reads.
      await Deno.writeTextFile(`${dir}/broken.ts`, 'import socket\nprint("hi")\n');
      // The kit runs in a child with the environment of a learner's shell
      // that asks for Rust backtraces and says nothing of NO_COLOR (this
      // suite has no --allow-env to set either for itself). The PATH is
      // where any system keeps sh.
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-prompt", "--allow-net", "--allow-read", "--allow-write", "--allow-run", QUOTED_OUTPUT, dir],
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin", HOME: dir, DENO_DIR: `${dir}/deno`, RUST_BACKTRACE: "1" },
        stdin: "null",
      }).output();
      const said = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, said);
      const quoted: Record<string, string> = JSON.parse(new TextDecoder().decode(output.stdout));
      for (const attempt of ["serverFile", "syscallFile", "clientFile"]) {
        assert.match(quoted[attempt], /SyntaxError|Expected/, `${attempt}: ${quoted[attempt]}`);
        // deno-lint-ignore no-control-regex
        assert.doesNotMatch(quoted[attempt], /\x1b\[/, `${attempt}: colour codes in the quoted output`);
        assert.doesNotMatch(quoted[attempt], /Stack backtrace/, `${attempt}: ${quoted[attempt]}`);
      }
      // A learner's own program gets NO_COLOR (its output is quoted too),
      // but the backtrace they asked for is theirs to have.
      for (const program of ["serverCommand", "clientCommand"]) {
        assert.match(quoted[program], /RUST_BACKTRACE=1 NO_COLOR=1/, `${program}: ${quoted[program]}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
