/**
 * `deno task kata:N …` for any kata in the catalog: the flags, `--help`,
 * `card` and `log`, which every kata has, then the kata's kind for the rest.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { UsageError, usageFromParseError } from "../cli/errors.ts";
import { logsFolder, userPath } from "../cli/paths.ts";
import { appendAttempt } from "../practice/history.ts";
import { LogPaths } from "../practice/logs.ts";
import { logMistake } from "../practice/mistakes.ts";
import { printCard } from "../practice/session.ts";
import { type CaptureKata, captureKind } from "./capture.ts";
import { type ClientKata, clientKind } from "./client.ts";
import { expectNoMore, type KataFlags } from "./common.ts";
import { type ExperimentKata, experimentKind } from "./experiment.ts";
import type { CheckedPass, KataCommand, Kind, KindHelp } from "./kind.ts";
import { type ServerKata, serverKind } from "./server.ts";

export type { CaptureKata, ClientKata, ExperimentKata, ServerKata };

/** A catalog entry: a kata of one of the four kinds. */
export type CatalogKata = ServerKata | ClientKata | CaptureKata | ExperimentKata;

/** Every kind, by name. */
export const KINDS = {
  server: serverKind,
  client: clientKind,
  capture: captureKind,
  experiment: experimentKind,
} as const;

/** Flags every kata takes, whatever its kind. */
const SHARED_FLAGS = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
  logs: { type: "string" },
  continue: { type: "boolean" },
} as const;

/** A kind with its kata: what the dispatcher calls. */
interface BoundKind {
  flags: Kind<unknown>["flags"];
  wrongFlag(flag: string): string;
  help(): KindHelp;
  command(name: string): ((command: KataCommand) => Promise<number>) | undefined;
}

function bind<K>(kind: Kind<K>, kata: K): BoundKind {
  const commands: Record<string, Kind<K>["check"] | undefined> = {
    ...kind.commands,
    practice: kind.practice,
    check: kind.check,
    run: kind.run,
  };
  return {
    flags: kind.flags,
    wrongFlag: (flag) => kind.wrongFlag(kata, flag),
    help: () => kind.help(kata),
    command: (name) => {
      const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
      return command && ((context) => command(kata, context));
    },
  };
}

/** The kind of `kata`, bound to it. */
function kindOf(kata: CatalogKata): BoundKind {
  switch (kata.kind) {
    case "server":
      return bind(KINDS.server, kata);
    case "client":
      return bind(KINDS.client, kata);
    case "capture":
      return bind(KINDS.capture, kata);
    case "experiment":
      return bind(KINDS.experiment, kata);
  }
}

/** `deno task kata:N --help` for `kata`. */
export function kataHelp(kata: CatalogKata): string {
  const n = kata.number;
  const help = kindOf(kata).help();
  return `deno task kata:${n} — Kata ${n}: ${kata.title}

Usage:
  deno task kata:${n}                    ${help.practice}${
    codeKind(kata)
      ? `\n  deno task kata:${n} --continue         continue your last stopped attempt, its clock where it stopped`
      : ""
  }
  deno task kata:${n} card               print the card only
  deno task kata:${n} check …            grade it, stage by stage
${help.commands}
  deno task kata:${n} log "MISTAKE"      add a mistake to logs/${kata.slug}.md

${help.targets}

Options:
  --json               check: print a machine-readable report instead
  --logs DIR           keep history and mistakes in DIR (default: logs/ of the kit);
                       paths are read from the folder you ran the command in
  -h, --help           this help

Exit status: 0 all core stages passed (stretch stages never count) or the
command succeeded, 1 a core stage failed or the target could not start,
2 wrong usage, 130 interrupted.`;
}

/** Every flag of every kind, so that a flag of another kind gets its own sentence, not "Unknown option". */
function allFlags() {
  return Object.assign({}, ...Object.values(KINDS).map((kind) => kind.flags), SHARED_FLAGS);
}

/**
 * Runs `deno task kata:N` for `kata` with the arguments after N; returns
 * the exit status. Usage errors are thrown as `UsageError`.
 *
 * @example
 * ```ts ignore
 * import { runKata } from "./mod.ts";
 * Deno.exit(await runKata(kata, ["check", "--reference"]));
 * ```
 */
export async function runKata(kata: CatalogKata, args: string[]): Promise<number> {
  const kind = kindOf(kata);
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: allFlags() });
  } catch (error) {
    usageFromParseError(error);
  }
  const { positionals } = parsed;
  const values = parsed.values as KataFlags & { help?: boolean; logs?: string };
  if (values.help) {
    console.log(kataHelp(kata));
    return 0;
  }
  const wrong = Object.keys(values).find((flag) =>
    !Object.hasOwn(SHARED_FLAGS, flag) && !Object.hasOwn(kind.flags, flag)
  );
  if (wrong) throw new UsageError(kind.wrongFlag(wrong));
  const logs = new LogPaths(await logsFolder(values.logs));
  if (values.file !== undefined) values.file = userPath(values.file);
  const [name = "practice", ...rest] = positionals;
  if (values.continue && (name !== "practice" || !codeKind(kata))) {
    throw new UsageError(
      codeKind(kata)
        ? `--continue goes with practice: deno task kata:${kata.number} --continue`
        : `Kata ${kata.number} has no attempt file to continue: --continue is for katas 1 to 4`,
    );
  }
  const card = await Deno.readTextFile(new URL("KATA.md", kata.directory));
  switch (name) {
    case "card":
      expectNoMore(rest, name);
      await printCard({ kata, card, logs });
      return 0;
    case "log":
      if (rest.length === 0) {
        throw new UsageError(`Say what the mistake was: deno task kata:${kata.number} log "forgot htons"`);
      }
      await logMistake(logs, kata, rest.join(" "));
      return 0;
  }
  const command = kind.command(name);
  if (!command) throw new UsageError(`Unknown command: ${name}`);
  const file = values.file;
  const recordPass = name === "check" && file !== undefined && codeKind(kata)
    ? (pass: CheckedPass) => recordUntimedPass(kata, logs, file, pass, values.json ?? false)
    : undefined;
  return await command({ flags: values, rest, card, logs, recordPass });
}

/** Whether the learner's attempt at `kata` is code, kept as a file: a server or a client. */
function codeKind(kata: CatalogKata): boolean {
  return kata.kind === "server" || kata.kind === "client";
}

/**
 * A pass of `check --file` outside practice counts: recorded with no time
 * (no clock ran), on the track it was graded on and with its stretch
 * stages, so the status board and the schedule see it as practice would.
 */
async function recordUntimedPass(
  kata: CatalogKata,
  logs: LogPaths,
  file: string,
  pass: CheckedPass,
  json: boolean,
): Promise<void> {
  await appendAttempt(logs.history, {
    kata: kata.number,
    started: new Date().toISOString(),
    durationMs: 0,
    result: "pass",
    failedStages: [],
    file: file.startsWith(`${logs.root}/`) ? file.slice(logs.root.length + 1) : file,
    untimed: true,
    ...(pass.track ? { track: pass.track } : {}),
    ...(pass.stretch.length > 0 ? { stretch: pass.stretch } : {}),
  });
  if (!json) console.log(`Recorded as an untimed pass in ${logs.history}.`);
}
