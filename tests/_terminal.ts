/**
 * A program running in a real pseudo-terminal (util-linux `script`), with
 * its screen output readable as it comes and keys typed into it: how the
 * practice session is tested.
 *
 * @module
 */

import assert from "node:assert/strict";
import { hasProgram } from "./_support.ts";

/** Whether `script` can give a test a pseudo-terminal here. */
export const haveScript = Deno.build.os === "linux" &&
  await hasProgram("script", ["--version"]);

/** A Deno program running in a pseudo-terminal. */
export class TerminalSession implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #screen = "";
  #reader: ReadableStreamDefaultReader<string>;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #holdOpen: boolean;

  /**
   * Runs `Deno.execPath()` with `args` in `cwd`, inside `script`. With
   * `holdOpen`, a shell keeps the terminal open after the program exits, as
   * the learner's own shell does: a terminal that closes sends SIGHUP to
   * everything still attached to it, which would hide a process left behind.
   */
  constructor(args: string[], cwd: string, options: { holdOpen?: boolean } = {}) {
    this.#holdOpen = options.holdOpen ?? false;
    let command = [Deno.execPath(), ...args].map((arg) => `'${arg}'`).join(
      " ",
    );
    if (this.#holdOpen) command += `; echo "[exit status $?]"; read line`;
    this.#child = new Deno.Command("script", {
      args: ["-qfec", command, "/dev/null"],
      cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1", TERM: "dumb" },
    }).spawn();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    this.#stdin = this.#child.stdin.getWriter();
  }

  /** The PID of `script`: the program runs below it. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Everything shown so far. */
  get screen(): string {
    return this.#screen;
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

  /**
   * Waits for the program to exit and returns its exit status. A session
   * held open stays open until {@linkcode release}.
   */
  async exitCode(): Promise<number> {
    if (this.#holdOpen) {
      const [, status] = await this.waitFor(/\[exit status (\d+)\]/);
      return Number(status);
    }
    while (true) {
      const next = await this.#reader.read().catch(() => ({ done: true, value: undefined }));
      if (next.done) break;
      this.#screen += next.value;
    }
    return (await this.#child.status).code;
  }

  /** Lets the shell that holds the terminal open end. */
  async release(): Promise<void> {
    await this.type("\n");
    await this.#child.status;
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
