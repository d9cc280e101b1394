/**
 * The server kind (katas 1, 2, 4): the learner writes a server; the checker
 * starts it — in-process, as a Deno file with one port's permission, as any
 * command, or finds it listening — and connects to it stage by stage.
 *
 * @module
 */

import { serverSubject, type Subject } from "../check/run.ts";
import type { StageContext } from "../check/stage.ts";
import { missingPortPlaceholder, type StartServer, type TargetSpec } from "../check/target.ts";
import { UsageError } from "../cli/errors.ts";
import { repoPath, userDirectory } from "../cli/paths.ts";
import { buildC } from "../tools/build_c.ts";
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
import {
  fullTrustWarning,
  runSyscallReference,
  type SyscallFiles,
  syscallFileTarget,
  syscallPath,
  type Track,
  trackOf,
} from "./syscall_track.ts";

/** A server kata's catalog entry. */
export interface ServerKata extends KataEntry<"server", StageContext> {
  /** Port `deno task kata:N run` listens on. */
  defaultPort: number;
  /** What `run` suggests to try it with, as the card does: `{host}` and `{port}` are filled in. */
  tryIt: string;
  /** The reference's `startServer`. */
  loadReference(): Promise<StartServer>;
  /** The starter's `startServer`: what a fresh attempt starts from, which the self-test expects to fail. */
  loadStarter(): Promise<StartServer>;
  /** File name of the C reference in the kata's folder, if there is one. */
  referenceC?: string;
  /** The syscall track's files (`--track syscalls`: libc through FFI), if the kata has one. */
  syscalls?: SyscallFiles;
}

/** What to grade: the references by name, or any target the harness starts. */
export type ServerTarget = "reference" | "reference-c" | "reference-syscalls" | TargetSpec;

/**
 * The subject for `target`: the Deno reference in-process, the C reference
 * built with cc (through the tool runner), or the target as given. Throws
 * TargetError, or ToolError for a failed build, when it cannot start.
 *
 * @example
 * ```ts ignore
 * import { serverKataSubject } from "./server.ts";
 * await using subject = await serverKataSubject(kata, "reference");
 * ```
 */
export async function serverKataSubject(kata: ServerKata, target: ServerTarget): Promise<Subject<StageContext>> {
  if (target === "reference") {
    return await serverSubject({
      kind: "module",
      label: "Deno reference (in-process)",
      start: await kata.loadReference(),
    });
  }
  if (target === "reference-syscalls") {
    if (!kata.syscalls) throw new UsageError(`Kata ${kata.number} has no syscall track`);
    return await serverSubject(await syscallFileTarget(syscallPath(kata, "reference")));
  }
  if (target === "reference-c") {
    if (!kata.referenceC) throw new UsageError(`Kata ${kata.number} has no C reference`);
    const binary = await buildC(new URL(kata.referenceC, kata.directory), repoPath(`logs/.build/${kata.slug}`));
    return await serverSubject({ kind: "command", command: `${binary} {port}` });
  }
  return await serverSubject(target);
}

/** The target the flags name; usage errors for none, several, or a bad port. */
async function targetFromFlags(kata: ServerKata, flags: KataFlags, track: Track): Promise<ServerTarget> {
  const say = `--reference, ${kata.referenceC ? "--reference-c, " : ""}--file PATH, --cmd "COMMAND {port}" or --port P`;
  const flag = chooseTarget(flags, ["reference", "reference-c", "file", "cmd", "port"], say);
  if (flags.host !== undefined && flags.port === undefined) {
    throw new UsageError("--host goes with --port: it says where an already running server listens");
  }
  if (track === "syscalls" && flag !== "reference" && flag !== "file") {
    throw new UsageError(
      `--track syscalls picks the reference and how --file runs; --${flag} is graded the same on every track: leave --track out`,
    );
  }
  switch (flag) {
    case "reference":
      return track === "syscalls" ? "reference-syscalls" : flag;
    case "reference-c":
      return flag;
    case "file":
      if (track === "deno") return { kind: "deno-file", path: flags.file! };
      console.error(fullTrustWarning(flags.file!));
      return await syscallFileTarget(flags.file!);
    case "cmd": {
      // A usage error, said before anything starts: the flag is wrong.
      const missing = missingPortPlaceholder(flags.cmd!);
      if (missing) throw new UsageError(missing);
      // It runs where the learner ran the task: their `./server` is there.
      return { kind: "command", command: flags.cmd!, cwd: userDirectory() };
    }
    case "port":
      return { kind: "address", hostname: flags.host ?? "127.0.0.1", port: parsePort(flags.port!) };
  }
}

async function runReference(kata: ServerKata, { flags, rest }: KataCommand): Promise<number> {
  expectNoMore(rest, "run");
  const port = flags.port === undefined ? kata.defaultPort : parsePort(flags.port);
  const hostname = flags.host ?? "127.0.0.1";
  if (trackOf(kata, flags) === "syscalls") return await runSyscallReference(kata, { hostname, port });
  const start = await kata.loadReference();
  const server = await listenOrExplain({ hostname, port }, () => start({ hostname, port }));
  if (!server) return 1;
  const { hostname: host, port: actual } = server.addr;
  console.log(`Kata ${kata.number} reference listening on ${host}:${actual}`);
  const tryIt = kata.tryIt.replaceAll("{host}", host).replaceAll("{port}", String(actual));
  console.log(`Try it: ${tryIt}    (Ctrl-C to stop)`);
  await untilInterrupted();
  await server.close();
  return 0;
}

/** The server kind. */
export const serverKind: Kind<ServerKata> = {
  flags: {
    reference: { type: "boolean" },
    "reference-c": { type: "boolean" },
    file: { type: "string" },
    cmd: { type: "string" },
    port: { type: "string" },
    host: { type: "string" },
    track: { type: "string" },
  },
  wrongFlag: (kata, flag) => `Kata ${kata.number} grades a server: --${flag} does not apply (see --help)`,
  help: (kata) => ({
    practice: "practice: card, fresh attempt, countdown, check on save",
    commands: `  deno task kata:${kata.number} run [--port P] [--host H]${kata.syscalls ? " [--track syscalls]" : ""}
                                  run the reference server (default 127.0.0.1:${kata.defaultPort})`,
    targets: `Check targets (exactly one):
  --reference          the Deno reference solution, in-process${
      kata.referenceC ? "\n  --reference-c        the C reference, built with cc" : ""
    }
  --file PATH          a Deno attempt, run with network access to one loopback port only
  --cmd "COMMAND {port}"  any program in any language; {port} becomes a free port
  --port P [--host H]  a server that is already listening (host 127.0.0.1 by default)${
      kata.syscalls
        ? `

Tracks (practice, check --reference, check --file, run):
  --track deno         Deno.listen and async tasks (the default)
  --track syscalls     the BSD-socket calls in libc through FFI (${
          kata.number === 1 ? "socket … accept, a thread per connection" : "non-blocking sockets and epoll"
        });
                       Linux only; --file then runs with --allow-ffi, which is full trust`
        : ""
    }`,
  }),
  practice: (kata, command) => {
    if (trackOf(kata, command.flags) === "deno") {
      return practiseCode(kata, command, (file) => serverKataSubject(kata, { kind: "deno-file", path: file }));
    }
    console.error(fullTrustWarning("each attempt"));
    return practiseCode(
      kata,
      command,
      async (file) => serverKataSubject(kata, await syscallFileTarget(file)),
      { name: "syscalls", ...kata.syscalls! },
    );
  },
  check: async (kata, { flags, rest, recordPass }) => {
    expectNoMore(rest, "check");
    const track = trackOf(kata, flags);
    const target = await targetFromFlags(kata, flags, track);
    return await printCheck(kata, () => serverKataSubject(kata, target), {
      json: flags.json ?? false,
      onPass: recordPass &&
        ((report) => recordPass({ ...(track === "syscalls" ? { track } : {}), stretch: report.stretch })),
    });
  },
  run: runReference,
};
