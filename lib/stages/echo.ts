/**
 * Stages for echo servers (katas 1 and 2). Each stage sends real bytes over
 * real sockets and fails with the evidence and the classic mistake behind it.
 *
 * @module
 */

import { formatBytes, randomBytes } from "../net/bytes.ts";
import { readToEnd, writeAll } from "../net/io.ts";
import { type Stage, type StageContext, StageFailure, withDeadline } from "../check/stage.ts";
import { backUp, echoUntilBackedUp, UnreadWriter } from "./backlog.ts";
import { echoOnce, exchange, expectEcho, receive } from "./echo_exchange.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const HINT_NO_ECHO =
  "Read from the connection in a loop and write back exactly the bytes read (buffer.subarray(0, n)), until read() returns null.";
const HINT_PARTIAL_WRITE =
  "write() may write fewer bytes than it was given; it returns how many. Loop until the whole chunk is written, and write only the n bytes that read() returned.";
const HINT_ONE_AT_A_TIME =
  "The server seems to serve one client at a time. Handle each accepted connection in its own task and do not await it in the accept loop.";

const HINT_WHOLE_BUFFER =
  "Write back only the n bytes that read() returned (buffer.subarray(0, n)), not the whole buffer: the rest of it holds zeros or an older message.";

/**
 * A single byte goes out and comes back, and nothing else does. A server
 * that writes back its whole read buffer sends more after the "k"; TCP
 * keeps order, so those extra bytes arrive where the echo of a second byte
 * is due, and there is no waiting for bytes that may never come.
 */
export const singleByte: Stage = {
  name: "echoes a single byte",
  timeoutMs: 5_000,
  timeoutHint: HINT_NO_ECHO,
  async run(ctx) {
    const conn = await ctx.connect();
    const first = new TextEncoder().encode("k");
    await echoOnce(conn, first, HINT_NO_ECHO);
    const second = new TextEncoder().encode("e");
    const echoed = await exchange(conn, second);
    if (echoed.bytes.length === 1 && echoed.bytes[0] !== second[0]) {
      throw new StageFailure(
        `More bytes came back than were sent: after the echo of "k", ${
          formatByte(echoed.bytes[0])
        } arrived where the echo of the next byte ("e") was due`,
        { details: 'sent "k", got "k" back, then sent "e"', hint: HINT_WHOLE_BUFFER },
      );
    }
    expectEcho(second, echoed, HINT_NO_ECHO);
  },
};

function formatByte(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? `"${String.fromCharCode(byte)}"` : `0x${byte.toString(16).padStart(2, "0")}`;
}

/** 1 MiB of random bytes comes back byte-exact. */
export const oneMebibyte: Stage = {
  name: "echoes 1 MiB of random bytes byte-exact",
  timeoutMs: 10_000,
  timeoutHint: HINT_PARTIAL_WRITE,
  async run(ctx) {
    const conn = await ctx.connect();
    const payload = randomBytes(MiB);
    await echoOnce(conn, payload, HINT_PARTIAL_WRITE);
  },
};

/**
 * The longest the late reader leaves its echo unread, when the server does
 * not show sooner that it holds the echo back (a server that serves one
 * client at a time cannot: it never answers the other client meanwhile).
 */
const LATE_READER_MAX_WAIT_MS = 300;

/**
 * 8 MiB to a client that starts reading late: only once the server is shown
 * to hold its echo back (see {@linkcode echoUntilBackedUp}), or after 300
 * ms. The server's send buffer fills first, so its writes come back partial:
 * a server that ignores write()'s return value loses bytes here.
 */
export const lateReader: Stage = {
  name: "echoes 8 MiB to a client that starts reading late (partial writes)",
  timeoutMs: 15_000,
  timeoutHint: HINT_PARTIAL_WRITE,
  async run(ctx) {
    const conn = await ctx.connect();
    const other = await ctx.connect();
    const payload = randomBytes(8 * MiB);
    const meanwhile = await backUp(conn, payload, { other, deadlineMs: LATE_READER_MAX_WAIT_MS, hint: HINT_NO_ECHO });
    expectEcho(payload, await receive(conn, payload.length), HINT_PARTIAL_WRITE);
    await meanwhile.writer.done;
    return meanwhile.backedUp
      ? `read once the server held the echo back (${formatMiB(meanwhile.written)} sent unread)`
      : `read after ${LATE_READER_MAX_WAIT_MS} ms (${formatMiB(meanwhile.written)} sent unread)`;
  },
};

/** How many clients {@linkcode hundredClients} holds connected at once. */
const CROWD = 100;
/** How long the crowd waits for every client's first half to come back. */
const CROWD_DEADLINE_MS = 5_000;

/**
 * 100 clients, 64 KiB each, all byte-exact, and all served at the same
 * time: each sends the first half of its message and sends the second only
 * once every client has had its first half back. A server that serves one
 * client at a time never gets past the first client (it waits for that
 * client to finish, which waits for the others), where 100 clients that
 * simply take turns would pass one by one.
 */
export const hundredClients: Stage = {
  name: "serves 100 concurrent clients × 64 KiB, all byte-exact",
  timeoutMs: 20_000,
  timeoutHint: HINT_ONE_AT_A_TIME,
  async run(ctx) {
    let halfway = 0;
    let allHalfway!: () => void;
    const everyoneHalfway = new Promise<void>((resolve) => allHalfway = resolve);
    const crowdStuck = withDeadline(everyoneHalfway, CROWD_DEADLINE_MS, () =>
      new StageFailure(
        `Only ${halfway} of ${CROWD} clients had the first half of their message echoed while all ${CROWD} were connected (waited ${
          CROWD_DEADLINE_MS / 1000
        } s)`,
        { hint: HINT_ONE_AT_A_TIME },
      ));
    const clients = Array.from({ length: CROWD }, async (_, i) => {
      const conn = await ctx.connect();
      const payload = randomBytes(64 * KiB);
      const [first, second] = [payload.subarray(0, 32 * KiB), payload.subarray(32 * KiB)];
      // No stall verdict of its own: the crowd's deadline says what is wrong.
      const stallMs = CROWD_DEADLINE_MS * 2;
      expectEcho(first, await exchange(conn, first, { stallMs }), HINT_PARTIAL_WRITE, `Client ${i + 1}'s echo`);
      if (++halfway === CROWD) allHalfway();
      await everyoneHalfway;
      await echoOnce(conn, second, HINT_PARTIAL_WRITE, `Client ${i + 1}'s echo`);
      conn.close();
    });
    const served = Promise.all(clients);
    served.catch(() => {}); // the crowd's deadline may win the race below
    await Promise.race([served, crowdStuck.then(() => served)]);
  },
};

/** How promptly a client must be served while another sits idle. */
const IDLE_DEADLINE_MS = 2_000;

/** A client that connects and sends nothing must not hold up the next one. */
export const idleClient: Stage = {
  name: "an idle client does not delay others",
  timeoutMs: 10_000,
  timeoutHint: HINT_ONE_AT_A_TIME,
  async run(ctx) {
    await ctx.connect(); // connects, says nothing, stays open
    const conn = await ctx.connect();
    const payload = new TextEncoder().encode("are you there?\n");
    const received = await withDeadline(
      exchange(conn, payload),
      IDLE_DEADLINE_MS,
      () =>
        new StageFailure(
          `No echo within ${IDLE_DEADLINE_MS / 1000} s while another client was connected but idle`,
          { hint: HINT_ONE_AT_A_TIME },
        ),
    );
    expectEcho(payload, received, HINT_NO_ECHO);
  },
};

/** How long after the last echoed byte the server has to close. */
const HALF_CLOSE_DEADLINE_MS = 5_000;
const HINT_HALF_CLOSE =
  "When read() returns null the client has finished sending (it shut down its write side). Finish writing what you read, then close the connection.";

/**
 * The client shuts down its write side: the server must echo everything it
 * got, then close its side too.
 */
export const halfClose: Stage = {
  name: "half-close: echoes everything, then closes",
  timeoutMs: 15_000,
  timeoutHint: HINT_HALF_CLOSE,
  async run(ctx) {
    const conn = await ctx.connect();
    const payload = randomBytes(256 * KiB);
    const reading = readToEnd(conn, payload.length + MiB);
    reading.catch(() => {});
    await writeAll(conn, payload);
    await conn.closeWrite();
    const received = await withDeadline(
      reading,
      HALF_CLOSE_DEADLINE_MS,
      () =>
        new StageFailure(
          `The connection was still open ${HALF_CLOSE_DEADLINE_MS / 1000} s after the client shut down its write side`,
          { hint: HINT_HALF_CLOSE },
        ),
    );
    expectEcho(payload, { bytes: received, stalled: false }, HINT_HALF_CLOSE);
  },
};

const HINT_RESET =
  "A client that resets makes read() or write() throw (Deno.errors.ConnectionReset, BrokenPipe; ECONNRESET, EPIPE in C, where SIGPIPE must be ignored). Catch it in that connection's handler, close that connection, and keep accepting.";

/** How long the reset stage gives a server to crash before it asks again. */
const CRASH_GRACE_MS = 250;

/** How much a resetting client tries to send: more than the socket buffers on both sides hold. */
const RESET_PAYLOAD_BYTES = 16 * MiB;

/**
 * Resets a connection mid-stream. The client starts sending more than all
 * socket buffers hold and reads one echoed byte, so the server is busy
 * echoing (usually blocked in a write, its output unread) when the client
 * closes with unread data in its receive buffer: the kernel sends RST
 * instead of FIN. A server that is mid-write then gets the error for sure;
 * with a smaller payload a loaded server may finish first and see only EOF.
 */
async function resetMidStream(ctx: StageContext): Promise<void> {
  const conn = await ctx.connect();
  // Fails once we reset: expected.
  writeAll(conn, new Uint8Array(RESET_PAYLOAD_BYTES)).catch(() => {});
  await conn.read(new Uint8Array(1));
  conn.close();
}

function isConnectionError(error: unknown): error is Error {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionRefused ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted;
}

/** Three clients reset mid-stream; the server must go on answering. */
export const survivesReset: Stage = {
  name: "a client that resets mid-stream does not take the server down",
  timeoutMs: 10_000,
  timeoutHint: HINT_RESET,
  async run(ctx) {
    const payload = new TextEncoder().encode("after the reset\n");
    let resets = 0;
    let echoed;
    try {
      for (; resets < 3; resets++) await resetMidStream(ctx);
      // A server that crashes on the reset may take a moment to go down;
      // asking at once could be answered by a server that is already doomed.
      await delay(CRASH_GRACE_MS);
      echoed = await exchange(await ctx.connect(), payload);
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      throw new StageFailure(
        `After ${resets} client(s) reset their connections, the next client could not be served: ${error.message}`,
        { hint: HINT_RESET },
      );
    }
    expectEcho(payload, echoed, HINT_RESET);
  },
};

/** Round trips measured by {@linkcode nagle}; the first two warm up and are not counted. */
const NAGLE_ROUND_TRIPS = 22;
/** A median round trip this slow on loopback means a timer, not work: delayed ACK is 40 ms on Linux. */
const NAGLE_STALL_MS = 20;

/**
 * 64 KiB request/response on one connection. With Nagle's algorithm on, the
 * server's last small segment waits for an ACK the client delays: ~40 ms
 * per echo on Linux.
 */
export const nagle: Stage = {
  name: "64 KiB request/response is not stalled by Nagle + delayed ACK",
  timeoutMs: 15_000,
  async run(ctx) {
    const conn = await ctx.connect();
    const payload = randomBytes(64 * KiB);
    const times: number[] = [];
    for (let i = 0; i < NAGLE_ROUND_TRIPS; i++) {
      const started = performance.now();
      await echoOnce(conn, payload, HINT_PARTIAL_WRITE);
      if (i >= 2) times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    const summary = `median round trip ${median.toFixed(2)} ms over ${times.length} messages of 64 KiB`;
    if (median >= NAGLE_STALL_MS) {
      throw new StageFailure(`Each echo stalls: ${summary}`, {
        hint:
          "~40 ms per round trip is Nagle's algorithm meeting the client's delayed ACK: the server holds back its last small segment until the previous one is acknowledged, and the client delays that ACK. Turn Nagle off on accepted connections: conn.setNoDelay(true) in Deno, setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, …) in C.",
      });
    }
    return summary;
  },
};

/** After every other stage, a plain echo still works. */
export const stillAnswers: Stage = {
  name: "the server still answers afterwards",
  timeoutMs: 5_000,
  timeoutHint:
    "The server stopped answering after the earlier stages: a leaked or blocked connection handler may be holding it up.",
  async run(ctx) {
    const conn = await ctx.connect();
    const payload = new TextEncoder().encode("still there?\n");
    await echoOnce(conn, payload, HINT_RESET);
  },
};

/** The most one echo may take for the other clients while the slow client's echo backs up. */
const PROMPT_ECHO_MS = 1_000;
/**
 * How long the other clients echo at most, waiting for the proof that the
 * server holds the slow client's echo back. Only a server that keeps taking
 * the slow client's bytes all this time gets there (it is slow, not stuck).
 */
const BACKED_UP_DEADLINE_MS = 3_000;
const SLOW_READER_BYTES = 16 * MiB;
const SLOW_READER_CLIENTS = 20;
const HINT_SLOW_READER =
  "One client that does not read stalled everybody: a write to it blocked the loop. Queue the bytes you could not write in that connection's own output buffer, go back to the loop, and stop reading from that client while its buffer is above a high-water mark.";

/**
 * Event-driven servers only: one client writes 16 MiB and reads nothing,
 * while another echoes 1 KiB again and again, each within a second, until
 * the server is shown to hold the slow client's echo back (its writes stop
 * being taken for 128 echoes in a row: see {@linkcode echoUntilBackedUp}),
 * or for at most 3 s. A loop that waits on its write to the slow client is
 * stuck by then, and the echo that comes late says so. Then 20 more clients
 * echo at once, each within a second, and as soon as they are done the slow
 * client reads and must get all 16 MiB back.
 */
export const slowReader: Stage = {
  name:
    `a client that reads nothing until its echo backs up does not stall ${SLOW_READER_CLIENTS} others; then gets all ${
      formatBytes(SLOW_READER_BYTES)
    } back`,
  timeoutMs: 40_000,
  timeoutHint: HINT_SLOW_READER,
  async run(ctx) {
    const slow = await ctx.connect();
    const bulk = randomBytes(SLOW_READER_BYTES);
    const writer = new UnreadWriter(slow, bulk);
    const watcher = await ctx.connect();
    const others = await Promise.all(Array.from({ length: SLOW_READER_CLIENTS }, () => ctx.connect()));
    const payload = randomBytes(KiB);
    const promptEcho = async (conn: Deno.TcpConn, who: string) => {
      const started = performance.now();
      const received = await withDeadline(exchange(conn, payload), PROMPT_ECHO_MS, () =>
        new StageFailure(
          `${who} waited over ${PROMPT_ECHO_MS / 1000} s for a 1 KiB echo while another client was not reading`,
          { hint: HINT_SLOW_READER },
        ));
      expectEcho(payload, received, HINT_PARTIAL_WRITE, `${who}'s echo`);
      return performance.now() - started;
    };
    // One client echoes until the proof; an echo it still has out when the
    // deadline comes is left on its own connection, apart from the 20.
    const meanwhile = await echoUntilBackedUp(writer, {
      echo: () => promptEcho(watcher, "A client").then(() => {}),
      deadlineMs: BACKED_UP_DEADLINE_MS,
    });
    const crowd = await Promise.all(
      others.map((conn, i) => promptEcho(conn, `Client ${i + 1} of ${SLOW_READER_CLIENTS}`)),
    );
    expectEcho(bulk, await receive(slow, bulk.length), HINT_PARTIAL_WRITE, "The slow client's echo");
    await writer.done;
    const backlog = meanwhile.backedUp
      ? `backed up after ${formatMiB(meanwhile.written)} sent unread`
      : `still taking the slow client's bytes after ${BACKED_UP_DEADLINE_MS / 1000} s (${
        formatMiB(meanwhile.written)
      } sent unread)`;
    const slowest = Math.max(meanwhile.slowestMs, ...crowd);
    return `${backlog}; ${meanwhile.echoes + crowd.length} prompt echoes meanwhile, slowest ${slowest.toFixed(1)} ms`;
  },
};

function formatMiB(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/**
 * The echo stages' hints, in the terms of one kata. The stages speak Kata
 * 1's language: a worker per connection may block, so "loop until the whole
 * chunk is written" is its lesson. In an event loop that loop is the
 * mistake (it stalls every other client), so Kata 2 hears the same
 * failures in its own terms: {@linkcode inEventLoopTerms}.
 */
export interface EchoHints {
  noEcho: string;
  wholeBuffer: string;
  partialWrite: string;
  oneAtATime: string;
  halfClose: string;
  reset: string;
}

/** Kata 1's hints: one worker per connection. */
export const WORKER_HINTS: Readonly<EchoHints> = {
  noEcho: HINT_NO_ECHO,
  wholeBuffer: HINT_WHOLE_BUFFER,
  partialWrite: HINT_PARTIAL_WRITE,
  oneAtATime: HINT_ONE_AT_A_TIME,
  halfClose: HINT_HALF_CLOSE,
  reset: HINT_RESET,
};

/** Kata 2's hints: one loop owns every connection and never waits on one. */
export const EVENT_LOOP_HINTS: Readonly<EchoHints> = {
  noEcho:
    "When a read completes with n bytes, queue exactly those bytes (buffer.subarray(0, n)) to be written back and start the next read; a read that completes with null means the client has finished sending.",
  wholeBuffer:
    "Queue only the n bytes the read returned (buffer.subarray(0, n)), not the whole buffer: the rest of it holds zeros or an older message.",
  partialWrite:
    "write() may take fewer bytes than it was given; it returns how many. Keep the unwritten rest at the front of that connection's output buffer and write it when this write completes, without waiting for it in the loop (a loop that waits on one client's write stalls all the others); and queue only the n bytes each read returned.",
  oneAtATime:
    "The server seems to serve one client at a time: never await one connection's read or write in the loop. Start the operation, go back to the loop, and handle its completion as an event (in C and on the syscall track: sockets made non-blocking with SOCK_NONBLOCK or fcntl, so that reading until EAGAIN returns instead of blocking, and epoll_wait() says which ones are ready).",
  halfClose:
    "A read that completes with null (EOF) means the client has finished sending: stop reading from it, keep writing what its output buffer holds, and close the connection once the output buffer is empty.",
  reset:
    "A client that resets makes its read or write fail (Deno.errors.ConnectionReset, BrokenPipe; ECONNRESET, EPIPE in C, where SIGPIPE must be ignored). That is an event for that connection only: drop its buffers, close it, and keep the loop running.",
};

/**
 * `stage` with Kata 2's hints in place of Kata 1's: the same probe, the
 * same verdict, the advice an event loop needs.
 *
 * @example
 * ```ts ignore
 * import { inEventLoopTerms, lateReader } from "./echo.ts";
 * export const stages = [lateReader].map(inEventLoopTerms);
 * ```
 */
export function inEventLoopTerms(stage: Stage): Stage {
  return {
    ...stage,
    timeoutHint: stage.timeoutHint && toEventLoopHint(stage.timeoutHint),
    async run(ctx) {
      try {
        return await stage.run(ctx);
      } catch (error) {
        if (!(error instanceof StageFailure) || error.hint === undefined) throw error;
        throw new StageFailure(error.message, { details: error.details, hint: toEventLoopHint(error.hint) });
      }
    },
  };
}

function toEventLoopHint(hint: string): string {
  const key = (Object.keys(WORKER_HINTS) as (keyof EchoHints)[]).find((key) => WORKER_HINTS[key] === hint);
  return key ? EVENT_LOOP_HINTS[key] : hint;
}
