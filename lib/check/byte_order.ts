/**
 * Catching a forgotten htons. A server that writes its port into
 * sockaddr_in in host order (little-endian) listens on the port with its two
 * bytes swapped: asked for 9000 (0x2328), it binds 10275 (0x2823). The
 * checker gives a spawned server a port whose swapped twin is a different,
 * free, unprivileged port, and watches the twin while it waits: a server
 * that turns up there is named at once, with the fix, instead of "did not
 * start listening" after a long wait.
 *
 * @module
 */

import { freePort, waitForListen } from "../net/ports.ts";

/**
 * `port` with its two bytes swapped: where a server that forgot htons listens.
 *
 * @example
 * ```ts
 * import { swappedPort } from "./byte_order.ts";
 * swappedPort(9000); // 10275
 * ```
 */
export function swappedPort(port: number): number {
  return ((port & 0xff) << 8) | (port >> 8);
}

/** How many free ports to try before settling for one whose twin is not checked. */
const ATTEMPTS = 64;

/**
 * A free port for a server to listen on, whose byte-swapped twin is a
 * different port, at least 1024, and free too (so that whoever listens
 * there later is the server under test). Both are released before this
 * returns; a race with another process is possible but rare.
 *
 * @example
 * ```ts
 * import { serverPort, swappedPort } from "./byte_order.ts";
 * const port = serverPort();
 * console.log(port !== swappedPort(port)); // true
 * ```
 */
export function serverPort(hostname = "127.0.0.1"): number {
  for (let i = 0; i < ATTEMPTS; i++) {
    const port = freePort(hostname);
    const twin = swappedPort(port);
    if (twin === port || twin < 1024) continue;
    try {
      Deno.listen({ hostname, port: twin }).close();
      return port;
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    }
  }
  return freePort(hostname);
}

/** A watch on the swapped twin of a port, while a server starts. */
export interface TwinWatch {
  /** Resolves when something turned up on the twin; never resolves otherwise. */
  readonly appeared: Promise<void>;
  /** Stops watching; resolves to whether something turned up, rejects with what the watch could not handle. */
  stop(): Promise<boolean>;
}

/**
 * Starts watching the byte-swapped twin of `port` (nothing to watch when
 * the twin is the port itself).
 *
 * @example
 * ```ts ignore
 * import { watchSwappedPort } from "./byte_order.ts";
 * const twin = watchSwappedPort("127.0.0.1", port);
 * await Promise.race([started, twin.appeared]);
 * if (await twin.stop()) console.log("forgot htons");
 * ```
 */
export function watchSwappedPort(hostname: string, port: number): TwinWatch {
  const twin = swappedPort(port);
  const stopped = Promise.withResolvers<void>();
  // waitForListen takes a reset for a server too: a twin that resets the
  // watch's first connection is still found, not given up on.
  const found = twin === port
    ? Promise.resolve(false)
    : waitForListen(hostname, twin, { timeoutMs: Infinity, exited: stopped.promise })
      .then((result) => result === "listening");
  const never = () => new Promise<never>(() => {});
  return {
    // An error is stop()'s to report: appeared only ever resolves.
    appeared: found.then((yes) => yes ? undefined : never(), never),
    stop: () => {
      stopped.resolve();
      return found;
    },
  };
}

/** What the checker says about a server found on the swapped port. */
export function forgotHtons(label: string, port: number): string {
  const twin = swappedPort(port);
  const hex = (n: number) => `0x${n.toString(16).padStart(4, "0")}`;
  return `${label} listens on port ${twin}, not ${port}: ${twin} (${hex(twin)}) is ${port} (${
    hex(port)
  }) with its two bytes swapped. The port in sockaddr_in goes in network byte order, high byte first: htons(port) in C, or bytes [port >> 8, port & 0xff]`;
}
