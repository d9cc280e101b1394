/**
 * Private labs: a fresh network namespace per run, so captures and loss
 * never touch the host's interfaces. A lab removes its namespace (and with
 * it every nft table and qdisc inside) and stops every process it started,
 * on success, on error and on Ctrl-C. Disposing twice is harmless.
 *
 * A run killed outright (SIGKILL, a crash) cleans nothing up, so every new
 * lab first removes the labs whose owner is dead (see ./stale.ts).
 *
 * @example
 * ```ts ignore
 * import { Lab } from "./lab.ts";
 * await using lab = await Lab.create("kata5");
 * await lab.run("ip", ["addr"]);
 * ```
 *
 * @module
 */

import {
  onInterrupt,
  runTool,
  type SpawnOptions,
  spawnTool,
  ToolError,
  type ToolOptions,
  type ToolProcess,
  type ToolResult,
  Transcript,
} from "../tools/runner.ts";
import { removeStaleLabs } from "./stale.ts";

/** Labs cannot be made here (not Linux, not root, no `ip`); the message says why. */
export class LabUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LabUnavailable";
  }
}

/** Options for {@linkcode Lab.create}. */
export interface LabOptions {
  transcript?: Transcript;
  /** Told, in one line, about stale labs removed first. @default {console.error} */
  onNotice?: (notice: string) => void;
}

/** One private network namespace and everything started in it. */
export class Lab implements AsyncDisposable {
  #processes = new Set<ToolProcess>();
  #disposed = false;
  #unregister: () => void;
  readonly transcript: Transcript;

  /**
   * @param namespace the lab's network namespace; undefined for the host
   *   fallback ({@linkcode Lab.host}), where commands run as they are.
   */
  private constructor(readonly namespace: string | undefined, transcript: Transcript) {
    this.transcript = transcript;
    this.#unregister = onInterrupt(() => this.dispose());
  }

  /**
   * Makes a namespace named `netkata-<name>-<pid>` with loopback up, after
   * removing stale labs ({@linkcode removeStaleLabs}). Throws
   * {@linkcode LabUnavailable} where namespaces cannot be made.
   */
  static async create(name: string, options: LabOptions = {}): Promise<Lab> {
    if (Deno.build.os !== "linux") {
      throw new LabUnavailable(
        `Private labs need Linux network namespaces; this is ${Deno.build.os}`,
      );
    }
    await removeStaleLabs({ onNotice: options.onNotice });
    const namespace = `netkata-${name}-${Deno.pid}`;
    const transcript = options.transcript ?? new Transcript();
    try {
      await runTool("ip", ["netns", "add", namespace], { transcript });
    } catch (error) {
      if (
        error instanceof ToolError &&
        ["missing", "privileges"].includes(error.kind)
      ) {
        throw new LabUnavailable(error.message);
      }
      throw error;
    }
    const lab = new Lab(namespace, transcript);
    try {
      await lab.run("ip", ["link", "set", "lo", "up"]);
    } catch (error) {
      await lab.dispose();
      throw error;
    }
    return lab;
  }

  /**
   * The fallback where namespaces cannot be made (not Linux, not root):
   * commands run on the host itself. Its processes are still stopped on
   * dispose; there is no namespace to remove.
   */
  static host(options: LabOptions = {}): Lab {
    return new Lab(undefined, options.transcript ?? new Transcript());
  }

  /** Runs a tool inside the lab and waits for it. */
  run(
    tool: string,
    args: readonly string[],
    options: Omit<ToolOptions, "netns" | "transcript"> = {},
  ): Promise<ToolResult> {
    return runTool(tool, args, {
      ...options,
      netns: this.namespace,
      transcript: this.transcript,
    });
  }

  /**
   * Starts a tool inside the lab; it is stopped when the lab is disposed,
   * and by its time limit if the kit dies first.
   */
  spawn(
    tool: string,
    args: readonly string[],
    options: Omit<SpawnOptions, "netns" | "transcript">,
  ): ToolProcess {
    const process = spawnTool(tool, args, {
      ...options,
      netns: this.namespace,
      transcript: this.transcript,
    });
    this.#processes.add(process);
    process.finished.then(() => this.#processes.delete(process));
    return process;
  }

  /** Stops the lab's processes and deletes its namespace. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#unregister();
    await Promise.allSettled([...this.#processes].map((process) => process.stop("SIGTERM")));
    if (this.namespace === undefined) return;
    try {
      await runTool("ip", ["netns", "delete", this.namespace], {
        transcript: this.transcript,
      });
    } catch (error) {
      // Already gone is fine; anything else is worth a line, not a crash.
      if (!(error instanceof ToolError && /No such file/.test(error.message))) {
        console.error(
          `Could not remove network namespace ${this.namespace}: ${(error as Error).message}`,
        );
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
