/**
 * Leaving a practice session while a check is running, in a real
 * pseudo-terminal: `q`, Ctrl-C, and SIGTERM sent to the kit alone (as an
 * editor or a wrapper does). Each way stops the attempt's server, records
 * the attempt, and exits with the status that says how the session ended.
 */

import assert from "node:assert/strict";
import { kitArgs, requires, ROOT, withTempDir } from "./_support.ts";
import { haveScript, TerminalSession } from "./_terminal.ts";
import {
  canSeeProcesses,
  findDescendant,
  isRunning,
  killLeftovers,
  type ProcessRef,
  stillRunningAfter,
  waitForProcess,
} from "./_processes.ts";

const needs = requires("run", "read", "write");
const seeProcesses = !needs.ignore && canSeeProcesses;

/** An attempt that listens and never answers: the first stage waits on it for seconds. */
const SILENT_SERVER = `const port = Number(Deno.args[Deno.args.indexOf("--port") + 1]);
const held: Deno.Conn[] = [];
for await (const conn of Deno.listen({ hostname: "127.0.0.1", port })) held.push(conn);
`;

const kataArgs = (logs: string) => kitArgs("kata.ts", ["1"], logs);

type Leave = "q" | "Ctrl-C" | "SIGTERM";

const EXPECTED_STATUS: Record<Leave, number> = { "q": 0, "Ctrl-C": 130, "SIGTERM": 130 };

for (const leave of ["q", "Ctrl-C", "SIGTERM"] as const) {
  Deno.test({
    name: `practice session: ${leave} during a check stops the attempt's server, records the attempt and exits ${
      EXPECTED_STATUS[leave]
    }${needs.suffix || (haveScript && seeProcesses ? "" : " [ignored: needs util-linux script and ps]")}`,
    ignore: needs.ignore || !haveScript || !seeProcesses,
    fn: () =>
      withTempDir("netkata-exit-", async (logs) => {
        let server: ProcessRef | undefined;
        let typeServer: ProcessRef | undefined;
        try {
          await using session = new TerminalSession(kataArgs(logs), ROOT, { holdOpen: true });
          const [, attempt] = await session.waitFor(/Your fresh attempt: (\S+attempt-001\.ts)/);
          await session.waitFor(/left · save to check/);
          await Deno.writeTextFile(attempt, SILENT_SERVER);
          await session.waitFor(/── check at/);
          server = await waitForProcess(
            () => findDescendant(session.pid, (args) => args.includes(` run `) && args.includes(attempt)),
            "attempt server",
          );
          assert.ok(await isRunning(server), "the check ended before the test could leave");
          // The type checker's language server, kept warm for the session, must go with it too.
          typeServer = await waitForProcess(
            () => findDescendant(session.pid, (args) => args.startsWith(`${Deno.execPath()} lsp`)),
            "type checker's language server",
          );
          if (leave === "SIGTERM") {
            const kit = await findDescendant(session.pid, (args) =>
              args.startsWith(`${Deno.execPath()} run `) && args.includes("tasks/kata.ts"));
            assert.ok(kit, "no kit process below script");
            Deno.kill(kit.pid, "SIGTERM");
          } else {
            await session.type(leave === "q" ? "q" : "\x03");
          }
          assert.equal(await session.exitCode(), EXPECTED_STATUS[leave], session.screen);
          // The terminal is still open, as it is after the learner quits.
          assert.deepEqual(await stillRunningAfter([server]), [], "the attempt's server outlived the session");
          assert.deepEqual(await stillRunningAfter([typeServer]), [], "the language server outlived the session");
          await session.release();
          const record = JSON.parse(await Deno.readTextFile(`${logs}/attempts.jsonl`));
          assert.equal(record.result, "stopped");
          assert.equal(record.file, "01-echo-threaded/attempt-001.ts");
        } finally {
          await killLeftovers([server, typeServer].filter((ref) =>
            ref !== undefined
          ));
        }
      }),
  });
}
