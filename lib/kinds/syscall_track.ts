/**
 * The syscall track of a server kata (katas 1 and 2): the same kata, written
 * against libc through Deno's FFI — socket, bind, accept, epoll — instead of
 * `Deno.listen`. Selected with `--track syscalls`. A file of this track runs
 * as its own process, `deno run --allow-ffi FILE --port P`: it blocks its
 * thread in accept() or epoll_wait(), so it cannot share the checker's.
 *
 * @module
 */

import type { TargetSpec } from "../check/target.ts";
import { assertFileExists } from "../check/target.ts";
import { UsageError } from "../cli/errors.ts";
import { waitForListen } from "../net/ports.ts";
import type { KataFlags } from "./common.ts";

/** The tracks of a kata: the Deno one every kata has, and the syscall one. */
export type Track = "deno" | "syscalls";

/** A kata's syscall-track files, in its folder. */
export interface SyscallFiles {
  /** The reference: `deno run --allow-ffi reference_syscalls.ts --port P`. */
  reference: string;
  /** What a fresh attempt of this track starts from. */
  starter: string;
}

/** What a kata needs to have a syscall track. */
interface WithTracks {
  number: number;
  directory: URL;
  syscalls?: SyscallFiles;
}

/**
 * The track `--track` names: "deno" when absent. A usage error for a track
 * that does not exist, or one the kata does not have.
 *
 * @example
 * ```ts ignore
 * import { trackOf } from "./syscall_track.ts";
 * trackOf(kata, { track: "syscalls" }); // "syscalls"
 * ```
 */
export function trackOf(kata: WithTracks, flags: KataFlags): Track {
  const track = flags.track ?? "deno";
  if (track !== "deno" && track !== "syscalls") {
    throw new UsageError(`--track takes deno or syscalls, not "${track}"`);
  }
  if (track === "syscalls" && !kata.syscalls) {
    throw new UsageError(`Kata ${kata.number} has no syscall track: it is written with Deno.listen only`);
  }
  if (track === "syscalls" && Deno.build.os !== "linux") throw new UsageError(platformSentence(Deno.build.os));
  return track;
}

/** Why the syscall track does not run on `os`, in one sentence. */
export function platformSentence(os: typeof Deno.build.os): string {
  return os === "windows"
    ? "The syscall track calls a BSD-socket libc, which Windows does not have: use the Deno track (leave out --track)"
    : `The syscall track is written for Linux (epoll, glibc): on ${os}, kqueue is the twin, a sibling file of the reference that replaces its readiness section`;
}

/** One sentence, said before a file of this track runs. */
export function fullTrustWarning(file: string): string {
  return `Note: the syscall track runs ${file} with --allow-ffi, which Deno treats as full trust (it can do anything you can): run only code you have read`;
}

/** A path as one argument of a command line the target splits like a shell. */
function quoted(path: string): string {
  return `'${path.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command target that runs a syscall-track file: libc through FFI, and
 * read access to the file itself, which a Worker (Kata 1's thread per
 * connection) needs to load it again. Nothing else is granted, but FFI
 * reaches past every other permission.
 *
 * @example
 * ```ts ignore
 * import { syscallFileTarget } from "./syscall_track.ts";
 * await using subject = await serverSubject(await syscallFileTarget("attempt-001.ts"));
 * ```
 */
export async function syscallFileTarget(path: string): Promise<TargetSpec> {
  await assertFileExists(path);
  const file = quoted(path);
  return {
    kind: "command",
    command: `${quoted(Deno.execPath())} run --no-prompt --allow-ffi --allow-read=${file} ${file} --port {port}`,
    denoAttempt: true,
  };
}

/** A kata file's path, from its folder. */
export function syscallPath(kata: WithTracks, file: keyof SyscallFiles): string {
  return decodeURIComponent(new URL(kata.syscalls![file], kata.directory).pathname);
}

/** Whether `text` is a dotted-quad IPv4 address, the only host a syscall reference takes. */
function isIPv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}

/**
 * `deno task kata:N run --track syscalls`: the syscall reference in the
 * foreground, its output on the terminal, until Ctrl-C (which the terminal
 * sends it too) or until it exits. Returns its exit status.
 */
export async function runSyscallReference(
  kata: WithTracks & { tryIt: string },
  { hostname, port }: { hostname: string; port: number },
): Promise<number> {
  if (!isIPv4(hostname)) {
    throw new UsageError(
      `--track syscalls builds its sockaddr_in from an IPv4 address: give --host as one, e.g. 127.0.0.1, not "${hostname}"`,
    );
  }
  const file = syscallPath(kata, "reference");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-ffi",
      `--allow-read=${file}`,
      file,
      "--port",
      String(port),
      "--host",
      hostname,
    ],
    stdin: "null",
  }).spawn();
  // Ctrl-C from a terminal reaches the server too; a signal sent to us alone
  // is passed on. Either way we wait for the server to exit.
  const forward = (signal: "SIGINT" | "SIGTERM") => () => {
    try {
      child.kill(signal);
    } catch {
      // It has exited already.
    }
  };
  const onInterrupt = forward("SIGINT");
  const onTerminate = forward("SIGTERM");
  Deno.addSignalListener("SIGINT", onInterrupt);
  Deno.addSignalListener("SIGTERM", onTerminate);
  try {
    const exited = child.status;
    if (await waitForListen(hostname, port, { timeoutMs: 15_000, exited }) === "listening") {
      const tryIt = kata.tryIt.replaceAll("{host}", hostname).replaceAll("{port}", String(port));
      console.log(`Try it: ${tryIt}    (Ctrl-C to stop)`);
    }
    const status = await exited;
    return status.signal === "SIGINT" || status.signal === "SIGTERM" ? 0 : status.code;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    Deno.removeSignalListener("SIGTERM", onTerminate);
  }
}
