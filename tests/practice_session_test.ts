/**
 * The practice session, end to end, in a real pseudo-terminal (util-linux
 * `script`): a fresh attempt appears, a save runs the checker, a pass is
 * recorded and a mistake logged; `q` stops and records the failed stages.
 */

import assert from "node:assert/strict";
import { hasProgram, requires, withTempDir } from "./_support.ts";

const needs = requires("run", "read", "write");
const haveScript = Deno.build.os === "linux" &&
  await hasProgram("script", ["--version"]);
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

/** A session running in a pseudo-terminal, with its screen output readable as it comes. */
class TerminalSession implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #screen = "";
  #reader: ReadableStreamDefaultReader<string>;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(args: string[]) {
    const command = [Deno.execPath(), ...args].map((arg) => `'${arg}'`).join(
      " ",
    );
    this.#child = new Deno.Command("script", {
      args: ["-qfec", command, "/dev/null"],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1", TERM: "dumb" },
    }).spawn();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    this.#stdin = this.#child.stdin.getWriter();
  }

  /** Reads output until `pattern` appears; fails after `timeoutMs` with the screen so far. */
  async waitFor(
    pattern: RegExp,
    timeoutMs = 20_000,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const match = this.#screen.match(pattern);
      if (match) return match;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) =>
        timer = setTimeout(() => resolve("timeout"), deadline - Date.now())
      );
      const next = await Promise.race([this.#reader.read(), timeout]);
      clearTimeout(timer);
      if (next === "timeout") {
        assert.fail(
          `no ${pattern} on screen within ${timeoutMs} ms:\n${this.#screen}`,
        );
      }
      if (next.done) {
        assert.fail(`session ended without ${pattern}:\n${this.#screen}`);
      }
      this.#screen += next.value;
    }
  }

  async type(text: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(text));
  }

  async exitCode(): Promise<number> {
    await this.#reader.cancel().catch(() => {});
    return (await this.#child.status).code;
  }

  async [Symbol.asyncDispose]() {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await this.#stdin.close().catch(() => {});
    await this.#reader.cancel().catch(() => {});
    await this.#child.status;
  }
}

function sessionTest(name: string, fn: (logs: string) => Promise<void>) {
  Deno.test({
    name: `${name}${needs.suffix || (haveScript ? "" : " [ignored: needs util-linux script]")}`,
    ignore: needs.ignore || !haveScript,
    fn: () => withTempDir("netkata-session-", fn),
  });
}

const kataArgs = (logs: string) => [
  "run",
  "--allow-net",
  `--allow-read=${ROOT},${logs}`,
  `--allow-write=${logs}`,
  "--allow-run",
  "tasks/kata.ts",
  "1",
  "--logs",
  logs,
];

sessionTest(
  "practice session: saving a passing attempt records it and logs a mistake",
  async (logs) => {
    await using session = new TerminalSession(kataArgs(logs));
    const [, attempt] = await session.waitFor(
      /Your fresh attempt: (\S+attempt-001\.ts)/,
    );
    await session.waitFor(/left · save to check/);
    assert.match(
      await Deno.readTextFile(attempt),
      /TODO/,
      "the attempt starts as a copy of the starter",
    );

    await Deno.copyFile(`${ROOT}katas/01-echo-threaded/reference.ts`, attempt);
    await session.waitFor(/All 9 stages passed\./);
    await session.waitFor(/One mistake you made this time/);
    await session.type("forgot setNoDelay\r");
    await session.waitFor(/Logged in /);
    assert.equal(await session.exitCode(), 0);

    const [line, ...rest] = (await Deno.readTextFile(`${logs}/attempts.jsonl`))
      .trim().split("\n");
    assert.equal(rest.length, 0);
    const record = JSON.parse(line);
    assert.equal(record.kata, 1);
    assert.equal(record.result, "pass");
    assert.deepEqual(record.failedStages, []);
    assert.equal(record.file, "01-echo-threaded/attempt-001.ts");
    assert.match(
      await Deno.readTextFile(`${logs}/01-echo-threaded.md`),
      /- \d{4}-\d\d-\d\d: forgot setNoDelay\n$/,
    );
  },
);

sessionTest(
  "practice session: Enter checks, q stops and records the failing stage",
  async (logs) => {
    await using session = new TerminalSession(kataArgs(logs));
    await session.waitFor(/left · save to check/);
    await session.type("\r");
    await session.waitFor(/0 of 9 stages passed/);
    await session.type("q");
    await session.waitFor(/Recorded as not passed/);
    assert.equal(await session.exitCode(), 0);
    const record = JSON.parse(
      await Deno.readTextFile(`${logs}/attempts.jsonl`),
    );
    assert.equal(record.result, "fail");
    assert.deepEqual(record.failedStages, ["echoes a single byte"]);
  },
);
