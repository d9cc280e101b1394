/**
 * The client kind (kata 3): the learner writes a client; the checker runs
 * it once per stage against the kata's fixture server, a server of awkward
 * cases, and judges what it printed and sent.
 *
 * @module
 */

import { type ClientSpec, missingUrlPlaceholder, type RunClient } from "../check/client.ts";
import { type ClientRun, clientSubject, type Subject } from "../check/run.ts";
import { assertAttemptChecked } from "../check/attempt_copy.ts";
import { UsageError } from "../cli/errors.ts";
import { userDirectory } from "../cli/paths.ts";
import {
  chooseTarget,
  expectNoMore,
  type KataFlags,
  listenOrExplain,
  parsePort,
  practiseCode,
  printCheck,
  untilInterrupted,
} from "./common.ts";
import type { KataCommand, KataEntry, Kind } from "./kind.ts";

/** A fixture server as the client kind starts and stops it. */
export interface FixtureServer extends AsyncDisposable {
  readonly port: number;
  close(): Promise<void>;
}

/** The server a client kata is graded against, from the kata's `check.ts`. */
export interface ClientFixture {
  /** Starts it on 127.0.0.1 (port 0: any free port). */
  start(port?: number): FixtureServer;
  /** The paths it answers, for `deno task kata:N fixture`. */
  readonly cases: readonly string[];
}

/** A client kata's catalog entry. */
export interface ClientKata extends KataEntry<"client", ClientRun<FixtureServer>> {
  /** The reference's `run(args, output)`. */
  loadReference(): Promise<RunClient>;
  /** The starter's `run`: what a fresh attempt starts from, which the self-test expects to fail. */
  loadStarter(): Promise<RunClient>;
  loadFixture(): Promise<ClientFixture>;
  /** Port `deno task kata:N fixture` listens on. */
  fixturePort: number;
}

/** What to grade: the reference by name, or any client the harness runs. */
export type ClientTarget = "reference" | ClientSpec;

/**
 * The subject for `target`: the client, with the kata's fixture started for
 * it. Throws TargetError for a command without `{url}`, or a Deno file
 * that imports what an attempt may not.
 *
 * @example
 * ```ts ignore
 * import { clientKataSubject } from "./client.ts";
 * await using subject = await clientKataSubject(kata, { kind: "command", command: "./client {url}" });
 * ```
 */
export async function clientKataSubject(
  kata: ClientKata,
  target: ClientTarget,
): Promise<Subject<ClientRun<FixtureServer>>> {
  const spec: ClientSpec = target === "reference"
    ? { kind: "module", label: "Deno reference (in-process)", run: await kata.loadReference() }
    : target;
  if (spec.kind === "deno-file") await assertAttemptChecked(spec.path);
  const fixture = await kata.loadFixture();
  return clientSubject(spec, () => fixture.start());
}

function wrongFlag(kata: ClientKata, flag: string): string {
  return `Kata ${kata.number} grades a client, which the checker runs itself: use --reference, --file PATH or --cmd "COMMAND {url}", not --${flag}`;
}

function targetFromFlags(kata: ClientKata, flags: KataFlags): ClientTarget {
  if (flags.port !== undefined) throw new UsageError(wrongFlag(kata, "port"));
  const flag = chooseTarget(flags, ["reference", "file", "cmd"], `--reference, --file PATH or --cmd "COMMAND {url}"`);
  if (flag === "reference") return flag;
  if (flag === "cmd") {
    // A usage error, said before anything starts: the flag is wrong.
    const missing = missingUrlPlaceholder(flags.cmd!);
    if (missing) throw new UsageError(missing);
  }
  // A --cmd runs where the learner ran the task: their `./client` is there.
  return flag === "file"
    ? { kind: "deno-file", path: flags.file! }
    : { kind: "command", command: flags.cmd!, cwd: userDirectory() };
}

async function runReference(kata: ClientKata, { rest }: KataCommand): Promise<number> {
  if (rest.length !== 1) {
    throw new UsageError(`Give one URL: deno task kata:${kata.number} run http://localhost:${kata.fixturePort}/`);
  }
  const run = await kata.loadReference();
  return await run(rest, { stdout: Deno.stdout, stderr: Deno.stderr });
}

async function serveFixture(kata: ClientKata, { flags, rest }: KataCommand): Promise<number> {
  expectNoMore(rest, "fixture");
  const port = flags.port === undefined ? kata.fixturePort : parsePort(flags.port);
  const { start, cases } = await kata.loadFixture();
  const fixture = await listenOrExplain({ hostname: "127.0.0.1", port }, () => start(port));
  if (!fixture) return 1;
  console.log(`The checker's fixture server is listening on 127.0.0.1:${fixture.port}. Its cases:`);
  for (const path of cases) console.log(`  http://localhost:${fixture.port}${path}`);
  console.log("(Ctrl-C to stop)");
  await untilInterrupted();
  await fixture.close();
  return 0;
}

/** The client kind. */
export const clientKind: Kind<ClientKata> = {
  flags: {
    reference: { type: "boolean" },
    file: { type: "string" },
    cmd: { type: "string" },
    port: { type: "string" },
  },
  wrongFlag,
  help: (kata) => ({
    practice: "practice: card, fresh attempt, countdown, check on save",
    commands: `  deno task kata:${kata.number} run URL            run the reference client on URL
  deno task kata:${kata.number} fixture [--port P] a server with every case the checker uses (default port ${kata.fixturePort})`,
    targets: `Check targets (exactly one):
  --reference          the Deno reference solution, in-process
  --file PATH          a Deno attempt, run with network access to the fixture's port only
  --cmd "COMMAND {url}"  any program in any language; {url} becomes each case's URL`,
  }),
  practice: (kata, command) =>
    practiseCode(kata, command, (file) => clientKataSubject(kata, { kind: "deno-file", path: file })),
  check: async (kata, { flags, rest, recordPass }) => {
    expectNoMore(rest, "check");
    const target = targetFromFlags(kata, flags);
    return await printCheck(kata, () => clientKataSubject(kata, target), {
      json: flags.json ?? false,
      onPass: recordPass && ((report) => recordPass({ stretch: report.stretch })),
    });
  },
  run: runReference,
  commands: { fixture: serveFixture },
};
