/**
 * Kata 2's syscall reference keeps the epoll rules its card teaches, seen
 * at the system-call level, where the behavioural stages cannot look: it
 * reads only a descriptor epoll reported readable. A preloaded wrapper
 * (tests/fixtures/epoll_rules_preload.ts) watches every epoll_wait and read
 * and epoll_ctl, and says on stderr when a read follows an EPOLLOUT-only
 * event, and once that such an event came while the server asked for
 * EPOLLIN too (only then would a loop that reads on what it asked for,
 * rather than on what it heard, read).
 */

import assert from "node:assert/strict";
import { serverSubject } from "../lib/check/run.ts";
import { runStages, type Stage, StageFailure } from "../lib/check/stage.ts";
import { oneMebibyte, slowReader } from "../lib/stages/echo.ts";
import { requires, withTempDir } from "./_support.ts";

const fromRoot = (path: string) => decodeURIComponent(new URL(`../${path}`, import.meta.url).pathname);
const REFERENCE = fromRoot("katas/02-echo-event-loop/reference_syscalls.ts");
const PRELOAD = fromRoot("tests/fixtures/epoll_rules_preload.ts");

/**
 * A client that sends 8 MiB while it reads its echo back 4 KiB at a time:
 * the server's queue fills, then drains in partial writes with nothing left
 * to read, so its last EPOLLOUT events come alone, every run.
 */
const drainsSlowly: Stage = {
  name: "echoes 8 MiB to a client that reads 4 KiB at a time",
  timeoutMs: 30_000,
  async run(ctx) {
    const conn = await ctx.connect();
    const sent = new Uint8Array(8 * 1024 * 1024).map((_, i) => (i * 7 + (i >> 12)) & 0xff);
    const writing = (async () => {
      // write() may take fewer bytes than offered: go on from where it stopped.
      for (let at = 0; at < sent.length;) at += await conn.write(sent.subarray(at, at + 64 * 1024));
    })();
    const piece = new Uint8Array(4096);
    let received = 0;
    while (received < sent.length) {
      const n = await conn.read(piece);
      if (n === null) throw new StageFailure(`The echo ended after ${received} bytes`);
      if (!piece.subarray(0, n).every((byte, i) => byte === sent[received + i])) {
        throw new StageFailure(`The echo differs within bytes ${received}–${received + n}`);
      }
      received += n;
    }
    await writing;
  },
};

/** What the preload says when the rule was put to the test, and when it was broken. */
const EXERCISED = /heard an EPOLLOUT-only event while EPOLLIN was asked for/;
const VIOLATION = /read on fd/;
/** Rounds of the stages before the test gives up on seeing the rule put to the test. */
const MAX_ROUNDS = 5;

const spawnsFfi = requires("run", "read", "write", "ffi");
const linux = Deno.build.os === "linux";

Deno.test({
  name: `the Kata 2 syscall reference reads only descriptors epoll reported readable${
    spawnsFfi.suffix || (linux ? "" : " [ignored: the syscall track is Linux's]")
  }`,
  ignore: spawnsFfi.ignore || !linux,
  async fn() {
    await withTempDir("netkata-epoll-rules-", async (dir) => {
      const said = `${dir}/stderr.txt`;
      // The shell only sends the server's stderr to a file the test can read.
      const server = `'${Deno.execPath()}' run --no-prompt --allow-ffi --preload '${PRELOAD}' '${REFERENCE}'`;
      await using subject = await serverSubject({
        kind: "command",
        command: `sh -c "exec ${server} --port {port} 2>'${said}'"`,
      });
      // The rule is put to the test only by an EPOLLOUT-only event while the
      // server asks for EPOLLIN too (its queue below the high-water mark, the
      // client sending nothing just then): timing decides whether a round
      // brings one, so rounds go on, a bounded number, until one did.
      let stderr = "";
      for (let round = 1; round <= MAX_ROUNDS; round++) {
        // Each backs the server up: EPOLLOUT is registered while its queue drains.
        const results = await runStages([drainsSlowly, slowReader, oneMebibyte], subject.lease);
        const failed = results.filter((result) => result.status !== "pass");
        assert.deepEqual(failed.map((result) => `${result.name}: ${result.message ?? result.status}`), []);
        // console.error writes at once: what the server heard is in the file.
        stderr = await Deno.readTextFile(said);
        if (EXERCISED.test(stderr) || VIOLATION.test(stderr)) break;
      }
      assert.doesNotMatch(stderr, VIOLATION, stderr);
      assert.match(
        stderr,
        EXERCISED,
        `In ${MAX_ROUNDS} rounds the server never heard EPOLLOUT alone while it asked for EPOLLIN too, so the rule was not put to the test:\n${stderr}`,
      );
    });
  },
});
