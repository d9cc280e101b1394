/**
 * The permission-scoped tool runner: every external program the kit starts
 * goes through here. It refuses anything outside the registry, says how to
 * install a missing tool, explains missing privileges, puts a time limit on
 * every run, writes each command to a transcript the learner can copy, and
 * ends every child on success, failure and Ctrl-C.
 *
 * The time limit holds even when the kit itself is killed (SIGKILL runs no
 * cleanup): on Linux every child runs under coreutils `timeout`, a separate
 * process that ends the tool when its time is up, whatever became of us.
 *
 * @module
 */

import { childrenOf } from "./process_stats.ts";
import { binaryOf, installHint, isTool, type ToolName, TOOLS } from "./registry.ts";

/** Why a tool could not do its job. The message is one actionable sentence. */
export class ToolError extends Error {
  constructor(
    readonly tool: string,
    readonly kind:
      | "not-allowed"
      | "missing"
      | "privileges"
      | "failed"
      | "timeout",
    message: string,
  ) {
    super(message);
    this.name = "ToolError";
  }
}

/**
 * Quotes arguments the way a POSIX shell needs them, so a transcript line
 * can be pasted into a terminal as it is.
 */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((arg) => /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'"'"'`)}'`).join(" ");
}

/** The commands a run started, as the learner would type them. */
export class Transcript {
  readonly lines: string[] = [];
  constructor(readonly onLine?: (line: string) => void) {}

  add(argv: readonly string[]): void {
    const line = `$ ${shellQuote(argv)}`;
    this.lines.push(line);
    this.onLine?.(line);
  }
}

/** Options for {@linkcode runTool}. */
export interface ToolOptions {
  /** Run inside this network namespace (through `ip netns exec`). */
  netns?: string;
  /** Kill the tool after this long. @default {30000} */
  timeoutMs?: number;
  /** Text for the tool's standard input. */
  stdin?: string;
  transcript?: Transcript;
  /**
   * Stops the tool at once when aborted (what it needs has gone, and it
   * would only wait for its time limit); the run then throws the reason.
   */
  signal?: AbortSignal;
}

/** Options for {@linkcode spawnTool}: a tool in the background must say how long it may live. */
export interface SpawnOptions extends Omit<ToolOptions, "timeoutMs" | "signal"> {
  /**
   * The tool is ended (SIGINT, then SIGKILL 5 s later) once it has run this
   * long, even if the kit was killed and can no longer stop it. Required: a
   * capture or a server nobody stops would otherwise run forever.
   */
  lifetimeMs: number;
}

/** What a finished tool printed. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every child still running, so that Ctrl-C can end them all. */
const live = new Set<ToolProcess>();
const cleanups = new Set<() => Promise<void>>();
let interruptHandlerInstalled = false;
let interruption: Promise<void> | undefined;

/**
 * Resolves once Ctrl-C's cleanup is done, when one is under way: a task's
 * main flow sees its tools die under it and should exit 130 quietly then,
 * not report the tools' deaths as failures.
 */
export function interrupted(): Promise<void> | undefined {
  return interruption;
}

/**
 * Registers `cleanup` to run on SIGINT/SIGTERM (before the process exits
 * with status 130), after every running tool has been stopped. Returns a
 * function that unregisters it.
 */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  installInterruptHandler();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

function installInterruptHandler(): void {
  if (interruptHandlerInstalled) return;
  interruptHandlerInstalled = true;
  const handler = async () => {
    // Set at once, so that the main flow, seeing its tools die, knows why.
    interruption ??= (async () => {
      console.error("\nInterrupted: stopping tools and removing labs…");
      await Promise.allSettled([...live].map((tool) => tool.stop("SIGTERM")));
      for (const cleanup of [...cleanups].reverse()) await cleanup().catch(() => {});
    })();
    await interruption;
    Deno.exit(130);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, handler);
    } catch {
      // SIGTERM cannot be listened for on Windows; Ctrl-C still works.
    }
  }
}

/**
 * Seconds a tool ignoring SIGINT gets before `timeout` sends SIGKILL. Also
 * how much later than the kit's own time limit the wrapper's fires: the kit
 * stops its tools itself while it lives, and the wrapper is the safety net.
 */
const KILL_AFTER_SECONDS = 5;

/**
 * The `timeout` command line that bounds a tool's life to `lifetimeMs`, or
 * none where coreutils' `timeout` is not a given (labs need Linux anyway).
 * `timeout` runs the tool in a process group of its own, which is how
 * {@linkcode ToolProcess.stop} kills both at once.
 */
function lifetimePrefix(lifetimeMs: number): string[] {
  if (Deno.build.os !== "linux") return [];
  const seconds = String(Math.max(lifetimeMs, 1) / 1000);
  return ["timeout", "--signal=INT", `--kill-after=${KILL_AFTER_SECONDS}`, seconds];
}

function argvFor(
  name: string,
  args: readonly string[],
  netns?: string,
): string[] {
  if (!isTool(name)) {
    throw new ToolError(
      name,
      "not-allowed",
      `${name} is not one of the tools netkata runs (${Object.keys(TOOLS).join(", ")}); refusing to start it`,
    );
  }
  const argv = [binaryOf(name), ...args];
  return netns ? [TOOLS.ip.binary, "netns", "exec", netns, ...argv] : argv;
}

/** Turns a failure to start into the sentence that says what to do. */
function startError(name: ToolName, argv: string[], error: unknown): ToolError {
  if (error instanceof Deno.errors.NotFound) {
    if (argv[0] === "timeout") {
      return new ToolError(
        name,
        "missing",
        "timeout is not installed (needed to put a time limit on every tool): install coreutils",
      );
    }
    return notInstalled(argv[0] === binaryOf(name) ? name : "ip");
  }
  if (
    error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied
  ) {
    return new ToolError(
      name,
      "privileges",
      `Not permitted to run ${TOOLS[name].binary}: ${(error as Error).message}`,
    );
  }
  return new ToolError(
    name,
    "failed",
    `Cannot start ${TOOLS[name].binary}: ${(error as Error).message}`,
  );
}

/** The sentence for a tool that is not installed: what it is for, and how to get it. */
function notInstalled(name: ToolName): ToolError {
  return new ToolError(
    name,
    "missing",
    `${TOOLS[name].binary} is not installed (needed to ${TOOLS[name].purpose}): ${installHint(name)}`,
  );
}

/**
 * What `timeout` (exit status 127) and `ip netns exec` say when the program
 * they were to run does not exist: the tool is missing, not failing.
 */
const NOT_FOUND_PATTERN = /(failed to run command|exec of ".*" failed).*No such file/;

const PRIVILEGE_PATTERN =
  /Operation not permitted|[Pp]ermission denied|You don't have permission|must be root|Cannot open netns/;

/** Explains a failed run, with the privilege advice where that is the cause. */
function failure(
  name: ToolName,
  argv: string[],
  code: number,
  stderr: string,
): ToolError {
  if (NOT_FOUND_PATTERN.test(stderr)) return notInstalled(name);
  const last = stderr.trim().split("\n").slice(-3).join(" / ") ||
    `exit status ${code}`;
  if (PRIVILEGE_PATTERN.test(stderr)) {
    return new ToolError(
      name,
      "privileges",
      `${TOOLS[name].binary} needs root (to ${
        TOOLS[name].purpose
      }): run the task with sudo, as root, or grant it capabilities (e.g. sudo setcap cap_net_raw,cap_net_admin=eip "$(command -v ${
        TOOLS[name].binary
      })"). It said: ${last}`,
    );
  }
  return new ToolError(name, "failed", `$ ${shellQuote(argv)} failed: ${last}`);
}

/**
 * Runs a registry tool to completion and returns its output. Throws
 * {@linkcode ToolError} if it cannot start, exits non-zero, or runs past
 * its time limit (it is killed then); throws `options.signal`'s reason,
 * once the tool is killed, when that aborts first.
 *
 * @example
 * ```ts ignore
 * const { stdout } = await runTool("ip", ["netns", "list"], { timeoutMs: 5_000 });
 * ```
 */
export async function runTool(
  name: string,
  args: readonly string[],
  options: ToolOptions = {},
): Promise<ToolResult> {
  const { timeoutMs = 30_000, signal, ...rest } = options;
  signal?.throwIfAborted();
  // The wrapper's limit comes later than ours: while the kit lives, it is
  // the kit that stops the tool and says why.
  const tool = spawnTool(name, args, { ...rest, lifetimeMs: timeoutMs + KILL_AFTER_SECONDS * 1000 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs));
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<"aborted">((resolve) =>
    signal?.addEventListener("abort", onAbort = () => resolve("aborted"))
  );
  try {
    const outcome = await Promise.race([tool.finished, timedOut, aborted]);
    if (outcome === "aborted") {
      await tool.stop("SIGKILL");
      throw signal!.reason;
    }
    if (outcome === "timeout") {
      await tool.stop("SIGKILL");
      throw new ToolError(
        name,
        "timeout",
        `$ ${shellQuote(tool.argv)} did not finish within ${timeoutMs / 1000} s`,
      );
    }
    const result = {
      code: outcome.code,
      stdout: tool.stdout(),
      stderr: tool.stderr(),
    };
    if (outcome.code !== 0) {
      throw failure(name as ToolName, tool.argv, outcome.code, result.stderr);
    }
    return result;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal!.removeEventListener("abort", onAbort);
    await tool.stop("SIGKILL");
  }
}

/** `timeout`'s exit status when it ended the tool because its time was up. */
const TIMED_OUT = 124;

/** A tool running in the background (a capture, a server). */
export class ToolProcess implements AsyncDisposable {
  /** The command as the learner would type it (without the `timeout` wrapper). */
  readonly argv: string[];
  readonly finished: Promise<Deno.CommandStatus>;
  readonly lifetimeMs: number;
  #child: Deno.ChildProcess;
  /** Whether the child is `timeout`, leader of a process group holding the tool. */
  #grouped: boolean;
  #stdout = "";
  #stderr = "";
  #drained: Promise<unknown>;
  #exited = false;
  #watchers = new Set<() => void>();

  constructor(readonly name: ToolName, argv: string[], options: SpawnOptions) {
    this.argv = argv;
    this.lifetimeMs = options.lifetimeMs;
    const limit = lifetimePrefix(options.lifetimeMs);
    const [program, ...args] = options.netns
      // `ip netns exec` execs its command in place, so the child is `timeout` either way.
      ? [argv[0], ...argv.slice(1, 4), ...limit, ...argv.slice(4)]
      : [...limit, ...argv];
    this.#grouped = limit.length > 0;
    try {
      this.#child = new Deno.Command(program, {
        args,
        stdin: options.stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      throw startError(name, [program, ...args], error);
    }
    live.add(this);
    installInterruptHandler();
    if (options.stdin !== undefined) {
      const writer = this.#child.stdin.getWriter();
      writer.write(new TextEncoder().encode(options.stdin)).then(() => writer.close()).catch(() => {});
    }
    this.#drained = Promise.all([
      this.#collect(this.#child.stdout, (text) => this.#stdout += text),
      this.#collect(this.#child.stderr, (text) => this.#stderr += text),
    ]);
    this.finished = this.#child.status.then(async (status) => {
      this.#exited = true;
      live.delete(this);
      await this.#drained;
      for (const wake of this.#watchers) wake();
      return status;
    });
  }

  /** The process id of the child the kit started (`timeout` where the tool runs under it). */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * The tool's own process id, for reading its figures from /proc or
   * pinning it to a core: under the `timeout` wrapper, timeout's child, which
   * it starts at once; the wrapper's own id if the tool has already gone.
   */
  async toolPid(): Promise<number> {
    if (!this.#grouped) return this.#child.pid;
    for (let tries = 0; tries < 100; tries++) {
      const [child] = await childrenOf(this.#child.pid);
      if (child !== undefined) return child;
      if (this.#exited) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.#child.pid;
  }

  async #collect(
    stream: ReadableStream<Uint8Array>,
    append: (text: string) => void,
  ): Promise<void> {
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        append(text);
        for (const wake of this.#watchers) wake();
      }
    } catch {
      // The process was killed mid-write.
    }
  }

  stdout(): string {
    return this.#stdout;
  }

  stderr(): string {
    return this.#stderr;
  }

  /** Why the tool ended on its own: its own words, or that its time ran out. */
  #failure(code: number): ToolError {
    if (this.#grouped && code === TIMED_OUT) {
      return new ToolError(
        this.name,
        "timeout",
        `$ ${shellQuote(this.argv)} was stopped at its time limit of ${this.lifetimeMs / 1000} s`,
      );
    }
    return failure(this.name, this.argv, code || 1, this.#stderr);
  }

  /**
   * Waits until `pattern` appears in the tool's output (tcpdump's
   * "listening on", nc's "Listening on"). Throws if the tool exits first or
   * the time runs out, with what it printed.
   */
  async waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      if (pattern.test(this.#stdout) || pattern.test(this.#stderr)) return;
      if (this.#exited) {
        const status = await this.finished;
        throw this.#failure(status.code);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new ToolError(
          this.name,
          "timeout",
          `$ ${shellQuote(this.argv)} did not get ready within ${timeoutMs / 1000} s`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#watchers.add(resolve);
        timer = setTimeout(resolve, left);
      }).finally(() => clearTimeout(timer));
      this.#watchers.clear();
    }
  }

  /**
   * Stops the tool: `signal` first (SIGINT lets tcpdump flush its file;
   * `timeout` passes it on), SIGKILL after `graceMs`. Safe to call twice,
   * and after it exited.
   */
  async stop(
    signal: Deno.Signal = "SIGINT",
    graceMs = 3_000,
  ): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      this.#signal(signal);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const patience = new Promise((resolve) => timer = setTimeout(resolve, graceMs));
      await Promise.race([this.finished, patience]);
      clearTimeout(timer);
      if (!this.#exited) this.#signal("SIGKILL");
    }
    return await this.finished;
  }

  /**
   * Sends `signal`. SIGKILL goes to the whole process group: `timeout`
   * cannot pass SIGKILL on, and killing it alone would orphan the tool.
   */
  #signal(signal: Deno.Signal): void {
    try {
      if (signal === "SIGKILL" && this.#grouped) Deno.kill(-this.#child.pid, signal);
      else this.#child.kill(signal);
    } catch {
      // It exited in between (or `timeout` had not yet made its group: then
      // it has not started the tool either, and killing it is enough).
      try {
        this.#child.kill(signal);
      } catch {
        // Gone.
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGTERM");
  }
}

/**
 * Starts a registry tool in the background; the transcript gets its command
 * line. It ends by itself after `options.lifetimeMs` at the latest.
 *
 * @example
 * ```ts ignore
 * await using capture = spawnTool("tcpdump", ["-i", "lo", "-w", "out.pcap"], { lifetimeMs: 60_000 });
 * await capture.waitForOutput(/listening on/);
 * ```
 */
export function spawnTool(
  name: string,
  args: readonly string[],
  options: SpawnOptions,
): ToolProcess {
  const argv = argvFor(name, args, options.netns);
  options.transcript?.add(argv);
  return new ToolProcess(name as ToolName, argv, options);
}
