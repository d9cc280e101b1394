/**
 * Free ports and waiting for a server to start listening.
 *
 * @module
 */

/**
 * Asks the kernel for a port nobody is listening on, by binding port 0.
 * The port is released before it is returned, so a race with another
 * process is possible but rare; callers that can bind port 0 themselves
 * should do that instead.
 *
 * @example
 * ```ts
 * import { freePort } from "./ports.ts";
 * const port = freePort(); // e.g. 41523
 * ```
 */
export function freePort(hostname = "127.0.0.1"): number {
  using listener = Deno.listen({ hostname, port: 0 });
  return (listener.addr as Deno.NetAddr).port;
}

/** Options for {@linkcode waitForListen}. */
export interface WaitForListenOptions {
  /** Give up after this long (`Infinity`: wait until `exited`). @default {10000} */
  timeoutMs?: number;
  /**
   * Resolves when the process that should listen has exited: waiting stops
   * at once instead of running into the timeout.
   */
  exited?: Promise<unknown>;
}

/** Why {@linkcode waitForListen} gave up. */
export type ListenWaitResult = "listening" | "timeout" | "exited";

/**
 * Connects to `hostname:port` until a connection succeeds, the process that
 * should be listening exits, or the timeout passes. The probe connection is
 * closed at once; a server must survive a client that leaves immediately.
 * A connection reset counts as listening: the handshake was answered.
 *
 * @example
 * ```ts ignore
 * import { waitForListen } from "./ports.ts";
 * const child = new Deno.Command("./server", { args: ["9000"] }).spawn();
 * if (await waitForListen("127.0.0.1", 9000, { exited: child.status }) !== "listening") Deno.exit(1);
 * ```
 */
export async function waitForListen(
  hostname: string,
  port: number,
  options: WaitForListenOptions = {},
): Promise<ListenWaitResult> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let exited = false;
  // Ends the pause between two attempts early, so that an exit is seen at once.
  let wake = () => {};
  const onExit = () => {
    exited = true;
    wake();
  };
  options.exited?.then(onExit, onExit);
  // Back off from 10 ms to 200 ms: a fast server is found at once, a slow
  // one (a compiler, a JVM) is not hammered with connection attempts.
  let pause = 10;
  while (Date.now() < deadline) {
    if (exited) return "exited";
    try {
      const conn = await Deno.connect({ hostname, port });
      conn.close();
      return "listening";
    } catch (error) {
      // A reset means the handshake was answered, so something listens; what
      // it does with connections is for the caller to find out.
      if (
        error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.ConnectionAborted ||
        error instanceof Deno.errors.NotConnected
      ) return "listening";
      if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pause);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    pause = Math.min(pause * 2, 200);
  }
  return exited ? "exited" : "timeout";
}
