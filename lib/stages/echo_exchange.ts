/**
 * The byte-exact echo client every echo stage uses: send, read the echo
 * back while still sending, and fail with a byte-level diff when it differs.
 *
 * @module
 */

import { describeMismatch } from "../net/bytes.ts";
import { writeAll } from "../net/io.ts";
import { StageFailure, withDeadline } from "../check/stage.ts";

/** Options for {@linkcode exchange}. */
export interface ExchangeOptions {
  /** Give up when no byte arrives for this long. @default {3000} */
  stallMs?: number;
}

/** What came back, and whether it stopped coming before the end. */
export interface Echoed {
  bytes: Uint8Array;
  /** True when the server went quiet with bytes still missing. */
  stalled: boolean;
}

/**
 * Sends `payload` while reading the echo. Reading while writing matters: a
 * client that writes everything first can deadlock a correct server once
 * both sides' socket buffers are full. Returns early, with what arrived,
 * when the server closes or goes quiet for `stallMs`.
 *
 * @example
 * ```ts ignore
 * import { exchange, expectEcho } from "./echo_exchange.ts";
 * const payload = new TextEncoder().encode("hello\n");
 * expectEcho(payload, await exchange(conn, payload), "Write back what you read");
 * ```
 */
export async function exchange(
  conn: Deno.TcpConn,
  payload: Uint8Array,
  options: ExchangeOptions = {},
): Promise<Echoed> {
  const writing = writeAll(conn, payload);
  // If the server closes early, the write fails too; the short read below
  // is the better diagnosis, so that rejection is not the one reported.
  writing.catch(() => {});
  const echoed = await receive(conn, payload.length, options);
  if (echoed.bytes.length === payload.length) await writing;
  return echoed;
}

/**
 * Reads `length` bytes of echo; returns early, with what arrived, when the
 * server closes or goes quiet for `stallMs`.
 *
 * @example
 * ```ts ignore
 * import { expectEcho, receive } from "./echo_exchange.ts";
 * expectEcho(sent, await receive(conn, sent.length), "Write back what you read");
 * ```
 */
export async function receive(conn: Deno.TcpConn, length: number, options: ExchangeOptions = {}): Promise<Echoed> {
  const received = new Uint8Array(length);
  let filled = 0;
  let stalled = false;
  while (filled < length) {
    const reading = conn.read(received.subarray(filled));
    const n = await withDeadline(
      reading,
      options.stallMs ?? 3_000,
      () => new StageFailure("stalled"),
    )
      .catch((error) => {
        if (!(error instanceof StageFailure)) throw error;
        stalled = true;
        return null;
      });
    if (n === null) break;
    filled += n;
  }
  return { bytes: received.subarray(0, filled), stalled };
}

/**
 * Throws a {@linkcode StageFailure} with a byte-level diff unless the echo
 * equals `sent`; `who` names the echo in the message.
 *
 * @example
 * ```ts ignore
 * import { exchange, expectEcho } from "./echo_exchange.ts";
 * expectEcho(sent, await exchange(conn, sent), "Write back what you read", "Client 3's echo");
 * ```
 */
export function expectEcho(
  sent: Uint8Array,
  echoed: Echoed,
  hint: string | undefined,
  who = "The echo",
): void {
  const received = echoed.bytes;
  const mismatch = describeMismatch(sent, received);
  if (!mismatch) return;
  const differsEarly = describeMismatch(sent.subarray(0, received.length), received) !== undefined;
  let message;
  if (differsEarly) message = `${who} came back different from what was sent`;
  else if (echoed.stalled) {
    message = `${who} stopped after ${received.length} of ${sent.length} bytes: nothing more arrived for a while`;
  } else {
    message = `${who} ended after ${received.length} of ${sent.length} bytes: the server closed the connection early`;
  }
  throw new StageFailure(message, { details: mismatch, hint });
}

/**
 * One echo: sends `payload` on `conn` and throws a {@linkcode StageFailure}
 * unless exactly it comes back ({@linkcode exchange}, then
 * {@linkcode expectEcho}).
 *
 * @example
 * ```ts ignore
 * import { echoOnce } from "./echo_exchange.ts";
 * await echoOnce(conn, new TextEncoder().encode("anyone home?\n"), "Serve every client at once");
 * ```
 */
export async function echoOnce(
  conn: Deno.TcpConn,
  payload: Uint8Array,
  hint: string | undefined,
  who?: string,
): Promise<void> {
  expectEcho(payload, await exchange(conn, payload), hint, who);
}
