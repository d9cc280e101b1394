/**
 * Kata 2's syscall reference does not trust errno with a connection. Under
 * Deno's FFI, V8 shares the script's thread and may overwrite errno between
 * a failed call and the script's read of it; once in CI that turned a read's
 * EAGAIN into ENOENT, and the reference closed a healthy connection ("Client
 * 6's echo ended after 0 of 1024 bytes"). Here a preloaded wrapper makes
 * errno lie after every failed call (tests/fixtures/errno_clobber_preload.ts),
 * and the checker's own stages must still pass.
 */

import assert from "node:assert/strict";
import { serverSubject } from "../lib/check/run.ts";
import { runStages } from "../lib/check/stage.ts";
import { hundredClients, oneMebibyte, singleByte, slowReader, survivesReset } from "../lib/stages/echo.ts";
import { requires } from "./_support.ts";

const fromRoot = (path: string) => decodeURIComponent(new URL(`../${path}`, import.meta.url).pathname);
const REFERENCE = fromRoot("katas/02-echo-event-loop/reference_syscalls.ts");
const PRELOAD = fromRoot("tests/fixtures/errno_clobber_preload.ts");

const spawnsFfi = requires("run", "read", "ffi");
const linux = Deno.build.os === "linux";

Deno.test({
  name: `the Kata 2 syscall reference passes the echo stages when errno lies after every failed call${
    spawnsFfi.suffix || (linux ? "" : " [ignored: the syscall track is Linux's]")
  }`,
  ignore: spawnsFfi.ignore || !linux,
  async fn() {
    await using subject = await serverSubject({
      kind: "command",
      command: `'${Deno.execPath()}' run --no-prompt --allow-ffi --preload '${PRELOAD}' '${REFERENCE}' --port {port}`,
    });
    // Every accept batch ends in EAGAIN, every echo's read loop too, and the
    // slow reader's writes meet a full send buffer: each is a failed call.
    const stages = [singleByte, oneMebibyte, hundredClients, slowReader, survivesReset];
    const results = await runStages(stages, subject.lease);
    const failed = results.filter((result) => result.status !== "pass");
    assert.deepEqual(
      failed.map((result) => `${result.name}: ${result.message ?? result.status}`),
      [],
      (await subject.diagnose?.()) ?? "",
    );
  },
});
