/**
 * The Deno-track echo references (Kata 1: a task per connection; Kata 2: an
 * event loop) held at their descriptor limit while clients come and go: each
 * client that leaves lets a queued one in, and the limit is hit again at
 * once. The shortage goes on all the while, so the server says it once, not
 * once per client; a shortage after the trouble has stayed away a while is
 * news again.
 */

import { hasProgram, requires } from "./_support.ts";
import { saysOncePerShortage } from "./_accept_support.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const needs = requires("run", "read");
const havePrlimit = !needs.ignore && await hasProgram("prlimit");
const onLinux = Deno.build.os === "linux";
const ignoreReason = needs.suffix ||
  (!onLinux ? " [ignored: prlimit is Linux's]" : havePrlimit ? "" : " [ignored: no prlimit on PATH]");

/** The open-file limit the server runs under: a few hundred clients reach it. */
const FILE_LIMIT = 256;

/**
 * How many clients come and go at the limit. More than the syscall track's
 * rounds: the Deno runtime opens and closes descriptors of its own (its
 * start-up, its certificate store), so a round can find one spare and not hit
 * the limit; once those are taken, every round does.
 */
const ROUNDS = 10;

const REFERENCES = [
  {
    name: "the Kata 1 reference",
    path: `${ROOT}katas/01-echo-threaded/reference.ts`,
    shortage: /^echo: cannot accept, out of file descriptors/,
  },
  {
    name: "the Kata 2 reference",
    path: `${ROOT}katas/02-echo-event-loop/reference.ts`,
    shortage: /^echo: accept failed, backing off/,
  },
];

for (const reference of REFERENCES) {
  Deno.test({
    name:
      `${reference.name} held at its descriptor limit while clients come and go says so once, not once per client${ignoreReason}`,
    ignore: needs.ignore || !onLinux || !havePrlimit,
    fn: () =>
      saysOncePerShortage(
        [Deno.execPath(), "run", "--no-prompt", "--allow-net", reference.path],
        reference.shortage,
        FILE_LIMIT,
        ROUNDS,
      ),
  });
}
