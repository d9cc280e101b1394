/**
 * A program under test in a process group of its own. A learner's command
 * may start children (`sh -c "…"`, a server that forks workers, a client
 * that leaves something running); signalling the one process we started
 * would leave them running, holding our pipes open, after the check and
 * after the kit. So every program under test is spawned `detached` (its own
 * session and process group, with the program as leader) and every signal
 * goes to the whole group.
 *
 * This module keeps every group that is still live, so that the kit can
 * stop them all when it is interrupted or the learner quits mid-check.
 *
 * @module
 */

/** Every group not yet stopped, so that one call can stop them all. */
const live = new Set<ProcessGroup>();
/** Set once the kit is on its way out: no new program under test may start. */
let closed = false;

/** A program under test that would start after {@linkcode closeProcessGroups}. */
export class ProcessGroupsClosed extends Error {
  constructor() {
    super("The kit is stopping: no program under test may start now");
    this.name = "ProcessGroupsClosed";
  }
}

/**
 * Throws {@linkcode ProcessGroupsClosed} once the kit is stopping. Call it
 * right before spawning: the spawn and the registration that follows are
 * synchronous, so nothing can slip between them.
 */
export function assertMayStart(): void {
  if (closed) throw new ProcessGroupsClosed();
}

/**
 * A spawned child that leads its own process group, that is, one spawned
 * with `detached: true` (on Unix: setsid, so the child's PID is also its
 * group's ID).
 *
 * @example
 * ```ts ignore
 * import { ProcessGroup } from "./process_group.ts";
 * const child = new Deno.Command("sh", { args: ["-c", "sleep 60 & sleep 60"], detached: true }).spawn();
 * await using group = new ProcessGroup(child);
 * await group.stop(); // both sleeps and the shell are gone
 * ```
 */
export class ProcessGroup implements AsyncDisposable {
  /** The leader's exit status, once it has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  #stopping: Promise<Deno.CommandStatus> | undefined;

  constructor(readonly child: Deno.ChildProcess) {
    this.status = child.status;
    live.add(this);
  }

  /** The group's ID: the leader's PID. */
  get pid(): number {
    return this.child.pid;
  }

  /**
   * Sends `signal` to every process in the group. A group with nobody left
   * in it is not an error: it is what stopping is for.
   */
  signal(signal: Deno.Signal): void {
    try {
      Deno.kill(-this.pid, signal);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /**
   * Stops the group: SIGTERM to all of it, then, once the leader has exited
   * or `graceMs` has passed, SIGKILL to whatever is left (children that
   * outlived their parent, or a server that ignores SIGTERM). Resolves with
   * the leader's status. Safe to call twice, and after the leader exited.
   */
  stop(graceMs = 2_000): Promise<Deno.CommandStatus> {
    this.#stopping ??= (async () => {
      this.signal("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const patience = new Promise((resolve) => timer = setTimeout(resolve, graceMs));
      await Promise.race([this.status, patience]);
      clearTimeout(timer);
      this.signal("SIGKILL");
      try {
        return await this.status;
      } finally {
        live.delete(this);
      }
    })();
    return this.#stopping;
  }

  /** Stops the group at once, without a grace period: for a kit that is leaving. */
  kill(): Promise<Deno.CommandStatus> {
    // A stop already under way may still be in its grace period: end it now.
    this.signal("SIGKILL");
    return this.stop(0);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Kills every live group at once and refuses to start any more: for a kit
 * that is about to exit (Ctrl-C, SIGTERM, the learner quitting mid-check).
 * Resolves when every group's leader has exited.
 *
 * @example
 * ```ts ignore
 * import { closeProcessGroups } from "./process_group.ts";
 * Deno.addSignalListener("SIGTERM", async () => {
 *   await closeProcessGroups();
 *   Deno.exit(143);
 * });
 * ```
 */
export async function closeProcessGroups(): Promise<void> {
  closed = true;
  await Promise.allSettled([...live].map((group) => group.kill()));
}

/**
 * Reads one of a child's pipes to its end, handing each chunk to `onChunk`.
 * Both pipes must be drained, or a chatty program blocks on a full pipe.
 *
 * @example
 * ```ts ignore
 * import { PipeDrain } from "./process_group.ts";
 * const child = new Deno.Command("echo", { args: ["hi"], stdout: "piped" }).spawn();
 * const chunks: Uint8Array[] = [];
 * const stdout = new PipeDrain(child.stdout, (chunk) => chunks.push(chunk));
 * await child.status;
 * await stdout.finish();
 * ```
 */
export class PipeDrain {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Resolves at the end of the output, or when reading stops. */
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>, onChunk: (chunk: Uint8Array) => void) {
    const reader = this.#reader = stream.getReader();
    this.done = (async () => {
      try {
        while (true) {
          const { value, done } = await reader.read();
          if (done) return;
          onChunk(value);
        }
      } catch {
        // The process was killed mid-write, or reading was cancelled: what arrived is enough.
      }
    })();
  }

  /**
   * Waits for the end of the output for up to `graceMs`, then stops
   * reading. Once the group is stopped the pipe ends at once; a process
   * that left its group (setsid) could hold it open for ever.
   */
  async finish(graceMs = 1_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const patience = new Promise((resolve) => timer = setTimeout(resolve, graceMs));
    await Promise.race([this.done, patience]);
    clearTimeout(timer);
    await this.#reader.cancel().catch(() => {});
    await this.done;
  }
}
