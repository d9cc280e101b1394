/**
 * Targets: what a checker grades. One checker serves every implementation:
 * a module started in-process, a Deno file run with least privilege, any
 * command in any language, or something already listening.
 *
 * @module
 */

import { waitForListen } from "../net/ports.ts";
import { forgotHtons, serverPort, watchSwappedPort } from "./byte_order.ts";
import { AttemptCopies } from "./attempt_copy.ts";
import { assertMayStart, PipeDrain, ProcessGroup } from "./process_group.ts";
import { RESOLUTION_FLAGS, serverNetFlags } from "./sandbox.ts";
import { TargetError } from "./target_error.ts";

export { TargetError };

/** A server started in-process: where it listens and how to stop it. */
export interface ServerHandle {
  readonly addr: Deno.NetAddr;
  close(): Promise<void>;
}

/** Starts a server in-process; every server reference exports one as `startServer`. */
export type StartServer = (
  options: { hostname: string; port: number },
) => ServerHandle | Promise<ServerHandle>;

/** What to grade. */
export type TargetSpec =
  | { kind: "module"; label: string; start: StartServer }
  /**
   * `cwd`: the folder the command runs in (a learner's `./server` is in
   * theirs); default the kit's. `denoAttempt`: the command is the kit's own
   * `deno run` of an attempt (the syscall track's), see {@linkcode SpawnOptions}.
   */
  | { kind: "command"; command: string; cwd?: string; denoAttempt?: boolean }
  | { kind: "deno-file"; path: string }
  | { kind: "address"; hostname: string; port: number };

/** A started target. Dispose it (or call `close`) to stop what was started. */
export interface RunningTarget extends AsyncDisposable {
  /** How the report names it: "reference (in-process)", "`./echo 4242`". */
  readonly label: string;
  readonly hostname: string;
  readonly port: number;
  /** The process the server runs in, when the checker knows it (not for an address). */
  readonly pid?: number;
  /**
   * Says why the target may have stopped answering, e.g. its process
   * exited. A process that is dying gets a moment to finish dying first.
   */
  diagnose(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Where a spawned target listens: always loopback, never 0.0.0.0. */
const LOOPBACK = "127.0.0.1";

/**
 * Why `command` cannot be run as a server: it does not say where its port
 * goes. Undefined when it does. The command line checks this before starting
 * anything, to call it a usage error; {@linkcode startTarget} checks it too.
 *
 * @example
 * ```ts ignore
 * missingPortPlaceholder("./echo-server"); // "The command must say where its port goes: …"
 * missingPortPlaceholder("./echo-server {port}"); // undefined
 * ```
 */
export function missingPortPlaceholder(command: string): string | undefined {
  if (command.includes("{port}")) return undefined;
  return `The command must say where its port goes: put {port} in it, e.g. --cmd "./echo-server {port}"`;
}

/** Options for {@linkcode startTarget}. */
export interface StartTargetOptions {
  /** How long a spawned program may take to start listening. @default {15000} */
  startTimeoutMs?: number;
}

/**
 * Starts the target described by `spec` and waits until it listens.
 * Throws {@linkcode TargetError} with an actionable message when it cannot.
 */
export async function startTarget(
  spec: TargetSpec,
  options: StartTargetOptions = {},
): Promise<RunningTarget> {
  switch (spec.kind) {
    case "module":
      return await startModule(spec.label, spec.start);
    case "address":
      return await connectToAddress(spec.hostname, spec.port);
    case "command": {
      const missing = missingPortPlaceholder(spec.command);
      if (missing) throw new TargetError(missing);
      const port = serverPort(LOOPBACK);
      const argv = splitCommand(
        spec.command.replaceAll("{port}", String(port)),
      );
      return await startProcess(`\`${argv.join(" ")}\``, argv, port, {
        ...options,
        cwd: spec.cwd,
        denoAttempt: spec.denoAttempt,
      });
    }
    case "deno-file":
      return await startDenoFile(spec.path, options);
  }
}

/**
 * Starts a Deno attempt from a private copy of the bytes whose imports were
 * checked (see attempt_copy.ts): a save between the check and the run
 * cannot slip unchecked code in. The copy goes when the target stops.
 */
async function startDenoFile(path: string, options: StartTargetOptions): Promise<RunningTarget> {
  // A missing file, or a folder, is refused by the copy's own read.
  const copies = new AttemptCopies(path);
  try {
    const attempt = await copies.checked();
    const port = serverPort(LOOPBACK);
    // The attempt gets network access to exactly one address and port and
    // nothing else: no files, no environment, no subprocesses.
    const argv = [
      Deno.execPath(),
      "run",
      "--no-prompt",
      ...RESOLUTION_FLAGS,
      ...serverNetFlags(port),
      attempt.path,
      "--port",
      String(port),
      "--host",
      LOOPBACK,
    ];
    const target = await startProcess(path, argv, port, { ...options, denoAttempt: true }, attempt.shown);
    const close = async () => {
      await target.close();
      await copies[Symbol.asyncDispose]();
    };
    return { ...target, close, [Symbol.asyncDispose]: close };
  } catch (error) {
    await copies[Symbol.asyncDispose]();
    throw error;
  }
}

async function startModule(
  label: string,
  start: StartServer,
): Promise<RunningTarget> {
  const server = await start({ hostname: LOOPBACK, port: 0 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close();
  };
  return {
    label,
    hostname: server.addr.hostname,
    port: server.addr.port,
    pid: Deno.pid, // ours: the server runs in this process
    diagnose: () => Promise.resolve(undefined),
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function connectToAddress(
  hostname: string,
  port: number,
): Promise<RunningTarget> {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new TargetError(
      `Port must be a whole number from 1 to 65535: got ${port}`,
    );
  }
  try {
    const probe = await Deno.connect({ hostname, port });
    probe.close();
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) {
      throw new TargetError(
        `Nothing is listening on ${hostname}:${port}: start your server first, or let the checker start it with --file or --cmd`,
      );
    }
    throw new TargetError(
      `Cannot connect to ${hostname}:${port}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const nothing = () => Promise.resolve();
  return {
    label: `${hostname}:${port}`,
    hostname,
    port,
    diagnose: () => Promise.resolve(undefined),
    close: nothing,
    [Symbol.asyncDispose]: nothing,
  };
}

/**
 * Refuses a path that is missing or not a file, in one sentence; says
 * nothing where it may not look (the program started from it will).
 *
 * @example
 * ```ts ignore
 * import { assertFileExists } from "./target.ts";
 * await assertFileExists("attempt-001.ts"); // TargetError "No such file: attempt-001.ts"
 * ```
 */
export async function assertFileExists(path: string): Promise<void> {
  const status = await Deno.permissions.query({ name: "read", path });
  if (status.state !== "granted") return; // the child will say if it is missing
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new TargetError(`Not a file: ${path}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TargetError(`No such file: ${path}`);
    }
    throw error;
  }
}

/** Options for {@linkcode spawnProgram}. */
export interface SpawnOptions {
  /** The folder the program runs in. @default {the kit's} */
  cwd?: string;
  /**
   * The program is the kit's own `deno run` of an attempt: a Rust backtrace
   * after its error (RUST_BACKTRACE may be set in the learner's shell) is
   * Deno's insides, noise in the quoted error, so it runs with
   * RUST_BACKTRACE=0. A learner's own --cmd program keeps their
   * RUST_BACKTRACE: a Rust learner who set it wants their backtrace.
   * @default {false}
   */
  denoAttempt?: boolean;
}

/**
 * Starts `argv` as a program under test, in a process group of its own.
 * Throws {@linkcode TargetError} when the program cannot be started.
 *
 * @example
 * ```ts ignore
 * import { spawnProgram } from "./target.ts";
 * await using program = spawnProgram(["./echo-server", "9000"], { cwd: "/home/me/katas" });
 * ```
 */
export function spawnProgram(argv: readonly string[], options: SpawnOptions = {}): ProcessGroup {
  assertMayStart();
  try {
    return new ProcessGroup(
      new Deno.Command(argv[0], {
        args: argv.slice(1),
        cwd: options.cwd,
        // Its output is quoted in a report: plain text, without the colour
        // codes Deno prints even into a pipe.
        env: options.denoAttempt ? { NO_COLOR: "1", RUST_BACKTRACE: "0" } : { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        detached: true,
      }).spawn(),
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new TargetError(
        `Cannot run ${argv[0]}: no such program (check the command, or give the program's full path)`,
      );
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new TargetError(
        `Cannot run ${argv[0]}: permission denied (make it executable: chmod +x ${argv[0]})`,
      );
    }
    throw error;
  }
}

/** How long a failing stage waits to see whether the server process is exiting. */
const DYING_GRACE_MS = 300;

/** How much of a spawned program's output to keep for diagnosis. */
const OUTPUT_TAIL_BYTES = 4_096;

async function startProcess(
  label: string,
  argv: string[],
  port: number,
  options: StartTargetOptions & SpawnOptions,
  /** Its output as the learner should read it (a copy's name replaced by their file's). */
  inLearnersTerms: (text: string) => string = (text) => text,
): Promise<RunningTarget> {
  const server = new ServerProcess(argv, { cwd: options.cwd, denoAttempt: options.denoAttempt });
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  // A server that forgot htons listens on the port's byte-swapped twin.
  const twin = watchSwappedPort(LOOPBACK, port);
  const waited = await waitForListen(LOOPBACK, port, {
    timeoutMs,
    exited: Promise.race([server.exited, twin.appeared]),
  });
  const onTwin = await twin.stop().catch(async (error) => {
    await server.close();
    throw error;
  });
  if (waited !== "listening") {
    await server.close();
    if (onTwin) throw new TargetError(forgotHtons(label, port));
    const tail = inLearnersTerms(server.output());
    const shown = tail ? `\n${indent(tail)}` : "";
    if (waited === "exited") {
      const permissionHint = tail.includes("Requires net access")
        ? `\nThe checker lets an attempt use ${LOOPBACK}:${port} and nothing else: listen on the --host and --port it passes.`
        : "";
      throw new TargetError(
        `${label} ${
          describeExitShort(server.exitStatus)
        } before listening on ${LOOPBACK}:${port}${shown}${permissionHint}`,
      );
    }
    throw new TargetError(
      `${label} did not start listening on ${LOOPBACK}:${port} within ${
        timeoutMs / 1000
      } s: does it listen on the port it was given?${shown}`,
    );
  }
  const close = () => server.close();
  return {
    label,
    hostname: LOOPBACK,
    port,
    pid: server.pid,
    diagnose: async () => {
      const diagnosis = await server.diagnose();
      return diagnosis === undefined ? undefined : inLearnersTerms(diagnosis);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A spawned server: its process group, the tail of what it printed, and how it ended. */
class ServerProcess {
  readonly #group: ProcessGroup;
  readonly #output = new OutputTail(OUTPUT_TAIL_BYTES);
  readonly #pipes: PipeDrain[];
  /** Resolves when the server process (the group's leader) exits. */
  readonly exited: Promise<Deno.CommandStatus>;
  exitStatus: Deno.CommandStatus | undefined;

  constructor(argv: readonly string[], spawning: SpawnOptions) {
    this.#group = spawnProgram(argv, spawning);
    const append = (chunk: Uint8Array) => this.#output.append(chunk);
    this.#pipes = [new PipeDrain(this.#group.child.stdout, append), new PipeDrain(this.#group.child.stderr, append)];
    this.exited = this.#group.status.then((status) => this.exitStatus = status);
  }

  /** The server process's id (the group's leader). */
  get pid(): number {
    return this.#group.child.pid;
  }

  output(): string {
    return this.#output.text();
  }

  /** Says how the server process ended, if it did; a process that is dying gets a moment to finish dying. */
  async diagnose(): Promise<string | undefined> {
    if (!this.exitStatus) {
      // A failure often means the server is crashing right now: give its
      // exit a moment to arrive, so the report can say so.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.exited,
        new Promise((resolve) => timer = setTimeout(resolve, DYING_GRACE_MS)),
      ]);
      clearTimeout(timer);
    }
    if (!this.exitStatus) return undefined;
    const tail = this.output();
    return `the server process ${describeExitShort(this.exitStatus)}` +
      (tail ? `; its last output:\n${indent(tail)}` : "");
  }

  /** Stops the server and everything it started (SIGTERM, then SIGKILL after two seconds). Safe to call twice. */
  async close(): Promise<void> {
    await this.#group.stop();
    await Promise.all(this.#pipes.map((pipe) => pipe.finish()));
  }
}

function describeExitShort(status: Deno.CommandStatus | undefined): string {
  if (!status) return "stopped";
  return status.signal ? `was killed by ${status.signal}` : `exited with status ${status.code}`;
}

function indent(text: string): string {
  return text.trimEnd().split("\n").map((line) => `    | ${line}`).join("\n");
}

/** Keeps the last few KiB a process printed, for the failure report. */
class OutputTail {
  #bytes = new Uint8Array(0);
  constructor(readonly limit: number) {}

  append(chunk: Uint8Array) {
    const joined = new Uint8Array(this.#bytes.length + chunk.length);
    joined.set(this.#bytes);
    joined.set(chunk, this.#bytes.length);
    this.#bytes = joined.slice(Math.max(0, joined.length - this.limit));
  }

  text(): string {
    return new TextDecoder().decode(this.#bytes);
  }
}

/**
 * Splits a command line into arguments the way a POSIX shell would for the
 * simple cases: whitespace separates, single and double quotes group, a
 * backslash escapes the next character outside single quotes. No shell runs,
 * so there is no globbing or variable expansion to surprise anyone.
 *
 * @example
 * ```ts
 * import { splitCommand } from "./target.ts";
 * splitCommand(`python3 "my server.py" 9000`); // ["python3", "my server.py", "9000"]
 * ```
 */
export function splitCommand(command: string): string[] {
  const args: string[] = [];
  let current = "";
  let inArg = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < command.length; i++) {
    const char = command[i];
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === "\\" && quote === '"' && i + 1 < command.length) {
        current += command[++i];
      } else current += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inArg = true;
    } else if (char === "\\" && i + 1 < command.length) {
      current += command[++i];
      inArg = true;
    } else if (/\s/.test(char)) {
      if (inArg) args.push(current);
      current = "";
      inArg = false;
    } else {
      current += char;
      inArg = true;
    }
  }
  if (quote) {
    throw new TargetError(
      `The command has an unclosed ${quote} quote: ${command}`,
    );
  }
  if (inArg) args.push(current);
  if (args.length === 0) {
    throw new TargetError(
      'The command is empty: give a program to run, e.g. --cmd "./server {port}"',
    );
  }
  return args;
}
