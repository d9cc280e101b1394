/**
 * An accept loop that survives what `for await (const conn of listener)`
 * does not. That loop throws, and so ends, on the first failed accept:
 *
 * - a client that connected and reset before the accept completed
 *   (ECONNABORTED; in Deno `NotConnected`, from the peer address lookup):
 *   the client's fault, so accept the next one;
 * - the process or the system out of file descriptors (EMFILE, ENFILE) or
 *   the kernel out of socket memory (ENOBUFS, ENOMEM): our fault, and
 *   retrying at once fails at once, so wait a little longer each time while
 *   the connections we have go on being served (and closing). The clients
 *   that arrive meanwhile wait in the kernel's accept queue.
 *
 * The kit's own servers (the Kata 3 fixture) use it; the kata references
 * spell the same loop out, since they import nothing.
 *
 * @module
 */

/** Options for {@linkcode acceptConnections}. */
export interface AcceptOptions {
  /**
   * Told once each time accepting stops for lack of resources (not on every
   * retry), with the error and the pause before the next try.
   * @default {() => {}}
   */
  onPause?: (error: Error, pauseMs: number) => void;
  /** The first pause after a resource error; it doubles up to `maxPauseMs`. @default {5} */
  minPauseMs?: number;
  /** The longest pause between two tries. @default {500} */
  maxPauseMs?: number;
}

/** Errno codes that mean "out of descriptors or memory": back off, then try again. */
const OUT_OF_RESOURCES = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/** Whether a failed accept was the client's doing: it reset before we picked it up. */
export function isAbortedConnection(error: unknown): boolean {
  return error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.ConnectionReset;
}

/** Whether a failed accept means this process (or the system) is out of descriptors or memory. */
export function isOutOfResources(error: unknown): error is Error {
  return error instanceof Error &&
    OUT_OF_RESOURCES.has((error as Error & { code?: unknown }).code as string);
}

/** Whether accept failed because the listener was closed: time to stop. */
function isListenerClosed(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted;
}

/**
 * Yields every connection `listener` accepts until it is closed, skipping
 * clients that reset before the accept completed and backing off when out
 * of descriptors. Any other accept error is thrown: it is not one we know
 * how to recover from.
 *
 * @example Bad: one client that resets ends the loop, and the server with it
 * ```ts ignore
 * for await (const conn of listener) serve(conn);
 * ```
 * @example Good
 * ```ts ignore
 * import { acceptConnections } from "./accept.ts";
 * for await (const conn of acceptConnections(listener)) serve(conn);
 * ```
 */
export async function* acceptConnections(
  listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
  options: AcceptOptions = {},
): AsyncGenerator<Deno.TcpConn, void, void> {
  const minPauseMs = options.minPauseMs ?? 5;
  const maxPauseMs = options.maxPauseMs ?? 500;
  let pauseMs = 0;
  while (true) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (isListenerClosed(error)) return;
      if (isAbortedConnection(error)) continue;
      if (!isOutOfResources(error)) throw error;
      if (pauseMs === 0) {
        pauseMs = minPauseMs;
        options.onPause?.(error, pauseMs);
      } else {
        pauseMs = Math.min(pauseMs * 2, maxPauseMs);
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      continue;
    }
    pauseMs = 0;
    yield conn;
  }
}
