/**
 * A client that writes and reads nothing, and the proof that the server is
 * backed up on it. Some echo stages need the server's writes to one client
 * to back up (its echo cannot be pushed, a write comes back partial). A
 * fixed wait only hopes for that; here it is shown by events: another
 * client gets echo after echo back while the unread client's writes make
 * no progress. The server is then alive and has stopped taking that
 * client's bytes, which it does only once it cannot push their echo: it
 * holds a full output buffer for that client, or is stuck writing to it
 * (and then the other client's next echo is late, which a stage reports).
 *
 * @module
 */

import { echoOnce } from "./echo_exchange.ts";

/** Writes bytes to a connection whose echo nobody reads yet, counting what the kernel takes. */
export class UnreadWriter {
  /** Bytes the kernel has taken so far. */
  written = 0;
  /** Resolves once every byte is written; rejects when a write fails. */
  readonly done: Promise<void>;

  /**
   * Starts writing `bytes` to `conn` at once.
   *
   * @example
   * ```ts ignore
   * import { UnreadWriter } from "./backlog.ts";
   * const writer = new UnreadWriter(conn, new Uint8Array(16 * 1024 * 1024));
   * ```
   */
  constructor(conn: Deno.TcpConn, bytes: Uint8Array) {
    this.done = (async () => {
      while (this.written < bytes.length) this.written += await conn.write(bytes.subarray(this.written));
    })();
    // A server that closes early fails the write too; reading the echo
    // short is the better diagnosis, so this rejection is not reported.
    this.done.catch(() => {});
  }
}

/**
 * Echoes in a row, on another client, during which the writer must stand
 * still. Fewer would not do: the kernel reopens a full receive window only
 * once a good part of it is free (1/16 of the buffer: 2 MiB of the 32 MiB
 * recent Linux allows), and a loop that takes turns may read the unread
 * client's next 64 KiB only once per echo of the other. A server that blocks
 * on its write to the unread client is stuck once it has echoed what that
 * client's receive buffer and its own send buffer hold (a few MiB; 4 MiB is
 * Linux's largest send buffer), so 128 turns of 64 KiB, 8 MiB, leave it
 * stuck (the next echo is late) or show the writer moving again. Measured:
 * such a loop (tests/fixtures/broken_echo.ts, blocking-loop) had its other
 * client's echo late after at most 7 echoes of standing still.
 */
const STILL_ECHOES = 128;

/** Options for {@linkcode echoUntilBackedUp}. */
export interface BackedUpOptions {
  /**
   * One echo on another client; throws a `StageFailure` when it
   * comes back wrong (or late, where the stage gives it a deadline).
   */
  echo(): Promise<void>;
  /**
   * Give up after this long, even with an echo still out: a server that
   * is still taking the bytes then is slow, or does not answer the other
   * client meanwhile, and the stage goes on without the proof.
   */
  deadlineMs: number;
}

/** How the echoing ended. */
export interface BackedUp {
  /** True when the proof came, false when the echoing ended without it. */
  backedUp: boolean;
  /** Bytes the writer had written by then. */
  written: number;
  /** Echoes the other client had back, and the slowest of them. */
  echoes: number;
  slowestMs: number;
}

/**
 * Echoes on another client, one echo after the other, until the server is
 * shown to be backed up on `writer`'s connection: 128 echoes in a row while
 * the writer wrote nothing more (or had written everything: the server then
 * holds the whole echo). Ends without the proof at `deadlineMs`.
 *
 * @example
 * ```ts ignore
 * import { echoUntilBackedUp, UnreadWriter } from "./backlog.ts";
 * const writer = new UnreadWriter(slow, bulk);
 * const { backedUp } = await echoUntilBackedUp(writer, {
 *   echo: () => promptEcho(other),
 *   deadlineMs: 3000,
 * });
 * ```
 */
export async function echoUntilBackedUp(writer: UnreadWriter, options: BackedUpOptions): Promise<BackedUp> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const givenUp = new Promise<"given up">((resolve) =>
    timer = setTimeout(() => resolve("given up"), options.deadlineMs)
  );
  let still = 0;
  let echoes = 0;
  let slowestMs = 0;
  try {
    while (still < STILL_ECHOES) {
      const written = writer.written;
      const started = performance.now();
      const echo = options.echo();
      echo.catch(() => {}); // an echo still out when we give up is not waited for
      if (await Promise.race([echo, givenUp]) === "given up") break;
      slowestMs = Math.max(slowestMs, performance.now() - started);
      echoes++;
      still = writer.written === written ? still + 1 : 0;
    }
  } finally {
    clearTimeout(timer);
  }
  return { backedUp: still >= STILL_ECHOES, written: writer.written, echoes, slowestMs };
}

/** Options for {@linkcode backUp}. */
export interface BackUpOptions {
  /** The other client, which echoes a line again and again meanwhile. */
  other: Deno.TcpConn;
  /** Give up on the proof after this long (see {@linkcode BackedUpOptions.deadlineMs}). */
  deadlineMs: number;
  /** The hint when an echo of the other client comes back wrong. */
  hint: string;
}

/**
 * Writes `payload` on `conn` without reading its echo, while `other`
 * echoes, until the server is shown to hold the echo back or `deadlineMs`
 * pass ({@linkcode echoUntilBackedUp}). The writer goes on writing; the
 * caller reads the echo and awaits `writer.done`.
 *
 * @example
 * ```ts ignore
 * import { backUp } from "./backlog.ts";
 * const { writer, backedUp } = await backUp(conn, payload, { other, deadlineMs: 3000, hint: "Keep what write() did not take" });
 * ```
 */
export async function backUp(
  conn: Deno.TcpConn,
  payload: Uint8Array,
  options: BackUpOptions,
): Promise<BackedUp & { writer: UnreadWriter }> {
  const writer = new UnreadWriter(conn, payload);
  const hello = new TextEncoder().encode("meanwhile\n");
  const meanwhile = await echoUntilBackedUp(writer, {
    echo: () => echoOnce(options.other, hello, options.hint, "Another client's echo"),
    deadlineMs: options.deadlineMs,
  });
  return { ...meanwhile, writer };
}
