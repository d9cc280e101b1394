/**
 * Stages for what an event loop does while nothing happens (Kata 2): it must
 * not wait on one quiet client, and it must not spin. Both are the classic
 * mistakes of an epoll loop written against the system calls — a blocking
 * read on a socket left blocking, and EPOLLOUT left registered once the
 * buffer drained — and both look fine to a client that only counts bytes.
 *
 * @module
 */

import { randomBytes } from "../net/bytes.ts";
import { type Stage, type StageContext, StageFailure, StageSkipped, withDeadline } from "../check/stage.ts";
import { busyShare, runnableSecondsByThread } from "../tools/process_stats.ts";
import { backUp } from "./backlog.ts";
import { echoOnce, expectEcho, receive } from "./echo_exchange.ts";

/** How promptly a client must be served while another, quiet one stays connected. */
const QUIET_DEADLINE_MS = 2_000;
const HINT_QUIET =
  "One client that went quiet after an echo held up everybody else: the loop waited on it. Nothing in an event loop may wait for one connection. With epoll, make every socket non-blocking (SOCK_NONBLOCK in accept4, or fcntl O_NONBLOCK), so that reading until EAGAIN stops instead of blocking; in Deno, never await one connection's read inside the loop.";

/**
 * A client sends a line, gets its echo, and stays connected saying nothing;
 * the next client must still be served at once. An epoll loop that reads
 * until EAGAIN on a blocking socket is stuck in read() on the quiet one.
 */
export const quietClient: Stage = {
  name: "a client that goes quiet after an echo does not hold up others",
  timeoutMs: 10_000,
  timeoutHint: HINT_QUIET,
  async run(ctx) {
    const quiet = await ctx.connect();
    await echoOnce(quiet, new TextEncoder().encode("hello, then silence\n"), HINT_QUIET);
    const next = await ctx.connect();
    await withDeadline(
      echoOnce(next, new TextEncoder().encode("anyone home?\n"), HINT_QUIET),
      QUIET_DEADLINE_MS,
      () =>
        new StageFailure(
          `No echo within ${QUIET_DEADLINE_MS / 1000} s while another client, already echoed, sat quiet`,
          { hint: HINT_QUIET },
        ),
    );
  },
};

/**
 * How long the server is watched while its client is idle. What is measured
 * is the time its threads were runnable (on a core, or waiting for one),
 * not the CPU time they got: on a busy machine a spinning server may get 8%
 * of a core (measured: at nice 19 beside one busy loop per core) and pass a
 * CPU-time test, but it is runnable all the time. A correct server (the
 * Deno, syscall-track and C references) is runnable for about 0% of the
 * window on a quiet machine. On a busy one a burst of work after the big
 * echo (a garbage collection) stretches while it waits for a core: the
 * Deno.listen reference at nice 19 beside a busy loop per core was busy
 * 5–13% of the first window, and over the limit in 4 of 8 runs, which the
 * confirm window then cleared.
 */
const IDLE_WINDOW_MS = 250;
/** Where the first window is over the limit, the second look: a busy loop is still busy, one burst of work is over. */
const CONFIRM_WINDOW_MS = 1_000;
/** Runnable for more than this share of the window while idle is a busy loop, not work. */
const IDLE_CPU_LIMIT = 0.2;
/** Enough that the server's writes come back partial while the client is not reading. */
const BACKED_UP_BYTES = 8 * 1024 * 1024;
/** The longest the client leaves its echo unread when the server does not show sooner that it holds it back. */
const BACKED_UP_MAX_WAIT_MS = 3_000;
const HINT_SPIN =
  "The server spins while nothing happens. In an epoll loop: EPOLLOUT left registered after the buffer drained (a socket with room to write is always writable, so epoll_wait returns at once, for ever), or EPOLLIN still registered after EOF. Ask for EPOLLOUT only while the connection's buffer is non-empty, and stop reading after EOF. Elsewhere: a loop that retries EAGAIN instead of waiting.";
const HINT_BACKED_UP =
  "write() may take fewer bytes than it was given: keep the rest and write it when the socket is writable.";

/**
 * Makes a connection's output back up (8 MiB, left unread until the server
 * is shown to hold the echo back: see {@linkcode echoUntilBackedUp}), so the
 * server must buffer it and wait for the socket to drain; reads it all, then
 * watches for 250 ms how much the server wants the CPU while that client,
 * now the only one, sits idle. A loop that left EPOLLOUT registered is
 * runnable 100% of the time; a correct one about 0.
 */
export const idleCpu: Stage = {
  name: "uses no CPU while its only client is idle, after an echo that backed up",
  timeoutMs: 20_000,
  async run(ctx) {
    if (ctx.pid === undefined) {
      throw new StageSkipped("the checker did not start this server, so it cannot watch its threads");
    }
    if (ctx.pid === Deno.pid) {
      // In-process, the server's threads are the checker's too (its other
      // stages' garbage, the test runner): a busy figure would prove nothing.
      throw new StageSkipped(
        "the server runs inside the checker's own process: check it with --file or --cmd to measure",
      );
    }
    const backlog = await backUpAndDrain(ctx);
    const idle = await watchIdle(ctx.pid);
    if (idle.busy) throw new StageFailure(`The server was ${idle.summary}`, { hint: HINT_SPIN });
    return `${idle.summary}, after ${backlog}`;
  },
};

/**
 * The first half of {@linkcode idleCpu}: makes one connection's echo back
 * up while another client echoes, closes the other, and reads the whole
 * echo back, so that the server has had to buffer and then drained. Returns
 * how it went, in words ("an echo that backed up (8.0 MiB sent unread)").
 *
 * @example
 * ```ts ignore
 * import { backUpAndDrain, watchIdle } from "./echo_idle.ts";
 * const said = await backUpAndDrain(ctx);
 * const idle = await watchIdle(ctx.pid!);
 * ```
 */
export async function backUpAndDrain(ctx: StageContext): Promise<string> {
  const conn = await ctx.connect();
  const other = await ctx.connect();
  const payload = randomBytes(BACKED_UP_BYTES);
  const backlog = await backUp(conn, payload, { other, deadlineMs: BACKED_UP_MAX_WAIT_MS, hint: HINT_BACKED_UP });
  // The client that echoed meanwhile goes: the idle one is the server's only client.
  other.close();
  expectEcho(payload, await receive(conn, payload.length), HINT_BACKED_UP);
  await backlog.writer.done;
  const sent = `${(backlog.written / 1024 / 1024).toFixed(1)} MiB sent unread`;
  return backlog.backedUp ? `an echo that backed up (${sent})` : `an echo left unread for 3 s (${sent})`;
}

/**
 * The second half of {@linkcode idleCpu}: how much the server at `pid` (and
 * the processes below it) wants the CPU while nothing happens, over 250 ms,
 * with a second look of 1 s when that is over the limit. `busy` is the
 * verdict; `summary` says it in words.
 *
 * @example
 * ```ts ignore
 * import { watchIdle } from "./echo_idle.ts";
 * const { busy, summary } = await watchIdle(serverPid);
 * ```
 */
export async function watchIdle(pid: number): Promise<{ busy: boolean; share: number; summary: string }> {
  let idle = await idleShare(pid, IDLE_WINDOW_MS);
  // Over the limit: one burst (a garbage collection, freeing the big
  // buffer) or a busy loop? A loop is still busy a second later.
  if (idle.share > IDLE_CPU_LIMIT) idle = await idleShare(pid, CONFIRM_WINDOW_MS);
  const summary = `busy (running, or ready to run) ${Math.round(idle.share * 100)}% of ${
    idle.seconds.toFixed(2)
  } s while its client sat idle`;
  return { busy: idle.share > IDLE_CPU_LIMIT, share: idle.share, summary };
}

/**
 * The share of one core that process `pid`, with every process below it,
 * wanted over the next `windowMs` (see {@linkcode busyShare}): a `--cmd`
 * such as `cargo run`, `make run` or `npm start` is a wrapper that sits idle
 * while its child does the work (or spins).
 */
async function idleShare(pid: number, windowMs: number): Promise<{ share: number; seconds: number }> {
  if (await runnableSecondsByThread(pid) === undefined) {
    throw new StageSkipped(
      "cannot read the server's scheduler statistics here (it needs Linux's /proc/PID/task/*/schedstat and --allow-run)",
    );
  }
  const busy = await busyShare(pid, windowMs);
  if (busy === undefined) throw new StageFailure("The server process went away while its client sat idle");
  return busy;
}
