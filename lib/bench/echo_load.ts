/**
 * The echo benchmark's load generator: `echo_load.c`, built with cc and run
 * as its own process. It is the kit's own measuring instrument, not a tool,
 * so it is one of the few processes started without the tool runner (see
 * `lib/tools/registry.ts`).
 *
 * @module
 */

import { buildC } from "../tools/build_c.ts";

/** One load shape. */
export interface Scenario {
  name: string;
  mode: "rr" | "stream";
  size: number;
  connections: number;
  /** Connections opened first that never send. */
  idle?: number;
}

/** What the load generator prints (see echo_load.c). */
export interface LoadResult {
  seconds: number;
  messages: number;
  bytes: number;
  mismatches: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
  client_cpu: number;
  starved: number;
  ramp_ms: number;
  error?: string;
}

/** The load generator could not run or reported an error; the message says why. */
export class LoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoadError";
  }
}

/** Builds the load generator into `directory` (once per run) and returns its path. */
export function buildEchoLoad(directory: string): Promise<string> {
  return buildC(new URL("./echo_load.c", import.meta.url), directory);
}

/** What the caller does at the load generator's two moments. */
export interface LoadHooks {
  /** It has started: pin it. */
  started(pid: number): Promise<void>;
  /** Idle scenarios: the idle connections are open, the load waits until this resolves. */
  idleReady?(): Promise<void>;
}

/**
 * Runs `scenario` for `seconds` against 127.0.0.1:`port` and returns what
 * the load generator measured. Throws {@linkcode LoadError} when it fails.
 *
 * @example
 * ```ts ignore
 * import { buildEchoLoad, runEchoLoad } from "./echo_load.ts";
 * const binary = await buildEchoLoad("logs/.build/bench");
 * const scenario = { name: "rr 64 B × 1", mode: "rr", size: 64, connections: 1 } as const;
 * const load = await runEchoLoad(binary, { port: 9000, scenario, seconds: 2 }, { started: async () => {} });
 * console.log(load.messages / load.seconds);
 * ```
 */
export async function runEchoLoad(
  binary: string,
  run: { port: number; scenario: Scenario; seconds: number },
  hooks: LoadHooks,
): Promise<LoadResult> {
  const { scenario } = run;
  const loader = new Deno.Command(binary, {
    args: ["127.0.0.1", run.port, scenario.mode, scenario.size, scenario.connections, run.seconds, scenario.idle ?? 0]
      .map(String),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = new Response(loader.stdout).text();
  const progress = loader.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const input = loader.stdin.getWriter();
  let said = "";
  try {
    await hooks.started(loader.pid);
    if (scenario.idle) {
      // It opens the idle connections, says so, and waits for a line (it
      // stops short, with its error on stdout, when it cannot open them).
      said = await readUntil(progress, "idle ready");
      if (said.includes("idle ready")) {
        await hooks.idleReady?.();
        await input.write(new TextEncoder().encode("go\n"));
      }
    }
    await input.close();
  } catch (error) {
    try {
      loader.kill("SIGKILL");
    } catch {
      // It has exited already.
    }
    await Promise.allSettled([loader.status, output, readUntil(progress, undefined)]);
    throw error;
  }
  said += await readUntil(progress, undefined);
  const [status, text] = [await loader.status, (await output).trim()];
  if (!status.success || !text.startsWith("{")) {
    throw new LoadError(`load generator failed: ${text || said.trim() || `exit status ${status.code}`}`);
  }
  const load: LoadResult = JSON.parse(text);
  if (load.error) throw new LoadError(load.error);
  return load;
}

/** Reads until `marker` has been seen, or to the end when there is none. */
async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  marker: string | undefined,
): Promise<string> {
  let text = "";
  while (marker === undefined || !text.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  return text;
}
