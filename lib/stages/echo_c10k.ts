/**
 * The C10K stage (Kata 2, stretch): what an event loop has and a worker per
 * connection lacks, measured from outside. 10 000 clients connect and say
 * nothing while a few others keep echoing; a new client must still be
 * served at once, each idle connection must cost the server little memory
 * (its resident set, from /proc), and its thread count must not grow with
 * the connections. A thread per connection fails on threads, a task with a
 * 64 KiB buffer per connection on memory; both pass Kata 2's core stages.
 *
 * /proc is read with `cat` and the server's process found with `ss`, so the
 * stage needs the run permission and Linux; elsewhere it is skipped, with
 * the reason.
 *
 * @module
 */

import { randomBytes } from "../net/bytes.ts";
import { openFilesLimit, type ProcessStatus, processStatus } from "../tools/process_stats.ts";
import { listeningProcesses } from "../tools/listeners.ts";
import { ToolError } from "../tools/runner.ts";
import { type Stage, type StageContext, StageFailure, StageSkipped, withDeadline } from "../check/stage.ts";
import { echoOnce } from "./echo_exchange.ts";

const KiB = 1024;

/** How many idle connections the stage opens where the descriptor limits allow. */
export const IDLE_CONNECTIONS = 10_000;
/** Connections opened at once: enough to be quick, few enough not to overflow a listen backlog of 128. */
const CONNECT_BATCH = 100;
/** The server's memory and threads are measured after every this many idle connections. */
const CHECKPOINT_EVERY = 1_000;
/** How long one batch of connections may take before the server counts as no longer accepting. */
const CONNECT_DEADLINE_MS = 5_000;
/** Clients that keep echoing while the idle ones arrive. */
const ACTIVE_CLIENTS = 10;
/** The pause between one active client's echoes. */
const ACTIVE_PAUSE_MS = 20;
/** The longest an echo may take, for an active client or a new one. */
const PROMPT_MS = 1_000;
/** Descriptors left for everything else: the active and new clients, the runtime's own. */
const DESCRIPTOR_RESERVE = 256;
/** Fewer idle connections than this is no C10K test at all: the stage is skipped instead. */
const MIN_IDLE = 1_000;

/**
 * What an idle connection may cost the server's resident memory. A
 * connection's state in an event loop is a few hundred bytes plus the
 * runtime's bookkeeping (Deno's reference: about 7 KiB, the C one: under
 * 1 KiB); a worker per connection holds its read buffer (64 KiB) for as long
 * as the client is connected.
 */
const SERVER_BYTES_PER_IDLE = 16 * KiB;
/**
 * In-process, the checker's end of each connection is counted too (its
 * TcpConn and promises, about 1 KiB of heap on Deno 2.9): this much more is
 * allowed for it.
 */
const CHECKER_BYTES_PER_IDLE = 8 * KiB;
/**
 * At a checkpoint the server may not have caught up yet, and the first
 * thousand connections carry the heap's growth: there, twice the limit
 * fails at once (a buffer per connection shows at 1 000 connections; no
 * need to wait for 10 000 and 640 MB).
 */
const EARLY_FACTOR = 2;
/** Threads a server may add while the idle connections arrive (a pool, a timer): not one per connection. */
const MAX_EXTRA_THREADS = 32;

const HINT_MEMORY =
  "A worker per connection keeps its read buffer (and, in C, a thread's stack) for as long as the client is connected, even one that never sends a byte: 10 000 idle clients × 64 KiB is 640 MB. An event loop keeps each connection's state small and needs a buffer only while there is data: read into one shared buffer, or give each connection a small one that grows while the client is busy and shrinks when it is quiet.";
const HINT_THREADS =
  "One thread per connection: 10 000 idle clients are 10 000 threads, each with its own stack (8 MiB of address space by default) and a place in the scheduler, and many systems cap threads per process below that. An event loop serves every connection from one thread: epoll_wait() (kqueue, select) says which sockets are ready.";
const HINT_PROMPT =
  "While thousands of clients sat idle, a busy one waited. An event loop must not walk every connection on each turn (select() and poll() do: use epoll or kqueue), nor accept new clients for so long that the ready ones starve.";
const HINT_ACCEPT =
  "The server stopped accepting new connections. Out of file descriptors (ulimit -n) or threads? An event loop needs one descriptor per connection and nothing else: start it with the soft limit raised to the hard one (ulimit -n $(ulimit -Hn)), and when accept() fails with EMFILE, wait a little and go on serving the connections it has.";

/** 10 000 idle connections; core stages first, this one after them as stretch. */
export const tenThousandIdle: Stage = {
  name: "10 000 idle connections: a new client is served at once, and each idle one costs little memory and no thread",
  level: "stretch",
  timeoutMs: 60_000,
  timeoutHint: HINT_ACCEPT,
  async run(ctx) {
    const server = await findServer(ctx);
    const budget = await idleBudget(server);
    const active = startActiveClients(ctx);
    const opened: Deno.TcpConn[] = [];
    let base: ProcessStatus | undefined;
    try {
      await active.warmedUp;
      base = await measure(server);
      await openIdle(ctx, { count: budget.count, opened, server, base, active });
      const idle = await probeIdle(opened);
      const fresh = await timedEcho(ctx, "A new client");
      const after = await measure(server);
      const { echoes, slowest } = await active.stop();
      const cost = judge(server, base, after, opened.length, 1);
      return [
        budget.notice,
        `${thousands(opened.length)} idle connections, ${idle} of them echoing when asked`,
        `a new client served in ${fresh.toFixed(1)} ms`,
        `${echoes} active echoes meanwhile, slowest ${slowest.toFixed(1)} ms`,
        cost,
      ].filter(Boolean).join("; ");
    } catch (error) {
      throw await rootCause(error, server, base, opened.length);
    } finally {
      await active.stop().catch(() => {});
    }
  },
};

/**
 * A slow echo or a refused connection is often the symptom of a thread or
 * a buffer per connection (a thread takes time to start, memory runs out):
 * when the server's threads or memory already show that, that is the
 * verdict, with its own hint; otherwise `error` is.
 */
async function rootCause(
  error: unknown,
  server: Server,
  base: ProcessStatus | undefined,
  opened: number,
): Promise<unknown> {
  if (!(error instanceof StageFailure) || opened === 0) return error;
  try {
    judge(server, base, await measure(server), opened, EARLY_FACTOR);
  } catch (cause) {
    if (cause instanceof StageFailure) return cause;
    throw cause;
  }
  return error;
}

/** The server's processes as this machine sees them, or why it cannot be measured. */
type Server =
  | { pids: number[]; inProcess: boolean }
  | { unmeasured: string };

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Finds the processes listening on the target's port; skips the stage where it cannot look. */
async function findServer(ctx: StageContext): Promise<Server> {
  if (Deno.build.os !== "linux") {
    throw new StageSkipped("needs Linux: the descriptor limits, memory and threads are read from /proc");
  }
  if (Deno.permissions.querySync({ name: "run" }).state !== "granted") {
    throw new StageSkipped(
      "needs --allow-run: the descriptor limits, memory and threads are read from /proc with cat, and ss finds the server's process (deno task kata:2 grants it)",
    );
  }
  if (!LOOPBACK.test(ctx.hostname)) {
    return { unmeasured: `${ctx.hostname} is not this machine's loopback: memory and threads not measured` };
  }
  let pids;
  try {
    pids = await listeningProcesses(ctx.port);
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    return { unmeasured: `memory and threads not measured: ${error.message}` };
  }
  if (pids.length === 0) {
    return { unmeasured: `no process of this user listens on port ${ctx.port}: memory and threads not measured` };
  }
  return { pids, inProcess: pids.includes(Deno.pid) };
}

/**
 * How many idle connections fit: each costs the checker one descriptor, and
 * the server one (in-process both come out of one limit). Deno raises its
 * own soft limit to the hard one when it starts, and a server the checker
 * starts inherits that; a server started by hand has its shell's.
 */
async function idleBudget(server: Server): Promise<{ count: number; notice?: string }> {
  const own = await openFilesLimit(Deno.pid);
  if (!own) throw new StageSkipped("cannot read this process's descriptor limit from /proc");
  const inProcess = "pids" in server && server.inProcess;
  const limits = [{
    who: inProcess ? "this process's (the checker's and the in-process server's ends share it)" : "the checker's",
    limit: own,
    room: Math.floor((own.soft - DESCRIPTOR_RESERVE) / (inProcess ? 2 : 1)),
  }];
  if ("pids" in server && !inProcess) {
    const theirs = await openFilesLimit(server.pids[0]);
    if (theirs) limits.push({ who: "the server's", limit: theirs, room: theirs.soft - DESCRIPTOR_RESERVE });
  }
  const tightest = limits.reduce((a, b) => b.room < a.room ? b : a);
  if (tightest.room >= IDLE_CONNECTIONS) return { count: IDLE_CONNECTIONS };
  const raise = tightest.limit.soft < tightest.limit.hard
    ? `; raise it to the hard limit (${tightest.limit.hard}) with ulimit -n $(ulimit -Hn) for the full ${
      thousands(IDLE_CONNECTIONS)
    }`
    : "";
  const why = `${tightest.who} descriptor limit is ${tightest.limit.soft}${raise}`;
  if (tightest.room < MIN_IDLE) {
    throw new StageSkipped(`only room for ${Math.max(tightest.room, 0)} idle connections here: ${why}`);
  }
  return { count: tightest.room, notice: `scaled down to ${thousands(tightest.room)} idle connections: ${why}` };
}

/**
 * The server's memory and threads now, summed over its processes;
 * undefined if not measured. Memory is the resident set of a process of its
 * own. In-process it is what the JavaScript holds alive instead (V8's heap
 * and every ArrayBuffer): the resident set of a process that has run other
 * checks (the test suite, the core stages) reuses the pages they freed, and
 * would not grow by a byte for a 64 KiB buffer per connection.
 */
async function measure(server: Server): Promise<ProcessStatus | undefined> {
  if (!("pids" in server)) return undefined;
  if (server.inProcess) {
    const own = await processStatus(Deno.pid);
    const { heapUsed, external } = Deno.memoryUsage();
    return own && { rss: heapUsed + external, threads: own.threads };
  }
  const total = { rss: 0, threads: 0 };
  for (const status of await Promise.all(server.pids.map(processStatus))) {
    if (!status) {
      throw new StageFailure("The server's process is gone: it exited while idle clients connected", {
        hint: HINT_ACCEPT,
      });
    }
    total.rss += status.rss;
    total.threads += status.threads;
  }
  return total;
}

/**
 * Throws when `after` shows a thread per connection or a memory cost per
 * connection over the limit (times `factor`, at a checkpoint); returns the
 * cost, in words, for the report.
 */
function judge(
  server: Server,
  base: ProcessStatus | undefined,
  after: ProcessStatus | undefined,
  idle: number,
  factor: number,
): string {
  if (!("pids" in server) || !base || !after) return "unmeasured" in server ? server.unmeasured : "";
  const extraThreads = after.threads - base.threads;
  if (extraThreads > MAX_EXTRA_THREADS) {
    throw new StageFailure(
      `The server's thread count grew from ${base.threads} to ${after.threads} with ${
        thousands(idle)
      } idle connections`,
      { hint: HINT_THREADS },
    );
  }
  const perIdle = Math.max(0, after.rss - base.rss) / idle;
  const limit = (SERVER_BYTES_PER_IDLE + (server.inProcess ? CHECKER_BYTES_PER_IDLE : 0)) * factor;
  const whose = server.inProcess
    ? "live heap and buffers, in-process: the checker's end included"
    : `resident, process ${server.pids.join(", ")}`;
  const cost = `${(perIdle / KiB).toFixed(1)} KiB per idle connection (${whose})`;
  if (perIdle > limit) {
    throw new StageFailure(
      `The server's memory grew by ${cost}: ${megabytes(after.rss - base.rss)} for ${
        thousands(idle)
      } idle clients, so ${megabytes(perIdle * IDLE_CONNECTIONS)} for ${thousands(IDLE_CONNECTIONS)}; at most ${
        limit / factor / KiB
      } KiB each is expected`,
      { hint: HINT_MEMORY },
    );
  }
  return `memory ${cost}, threads ${base.threads} → ${after.threads}`;
}

/** 10 000, as the stage's name writes it. */
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, " ");
}

function megabytes(bytes: number): string {
  return `${Math.round(bytes / 1e6)} MB`;
}

/** What {@linkcode openIdle} works with. */
interface Crowd {
  /** How many idle connections to open. */
  count: number;
  /** The connections opened so far; openIdle adds to it. */
  opened: Deno.TcpConn[];
  server: Server;
  base: ProcessStatus | undefined;
  active: ActiveClients;
}

/** Opens the idle connections in batches, judging the server at each checkpoint. */
async function openIdle(ctx: StageContext, { count, opened, server, base, active }: Crowd): Promise<void> {
  while (opened.length < count) {
    const batch = Math.min(CONNECT_BATCH, count - opened.length);
    const connecting = Promise.all(Array.from({ length: batch }, () => ctx.connect()));
    const conns = await withDeadline(connecting, CONNECT_DEADLINE_MS, () =>
      new StageFailure(
        `After ${thousands(opened.length)} idle connections, new ones were not accepted within ${
          CONNECT_DEADLINE_MS / 1000
        } s`,
        { hint: HINT_ACCEPT },
      )).catch((error) => {
        if (error instanceof StageFailure) throw error;
        throw new StageFailure(
          `After ${thousands(opened.length)} idle connections, the next could not be made: ${error.message}`,
          { hint: HINT_ACCEPT },
        );
      });
    opened.push(...conns);
    active.check();
    if (opened.length % CHECKPOINT_EVERY === 0) judge(server, base, await measure(server), opened.length, EARLY_FACTOR);
  }
}

/** Idle connections asked to echo one byte, spread over the whole crowd. */
const PROBED_IDLE = 10;

/**
 * A connection the kernel completed may still wait in the server's accept
 * queue: a few idle clients, from the first to the last, each echo a byte
 * to prove the server really holds them.
 */
async function probeIdle(opened: Deno.TcpConn[]): Promise<number> {
  const step = Math.max(1, Math.floor(opened.length / (PROBED_IDLE - 1)));
  const probed = [...new Set([...opened.filter((_, i) => i % step === 0), opened.at(-1)!])];
  await withDeadline(
    Promise.all(probed.map((conn) => echoOnce(conn, new Uint8Array([0x2a]), HINT_ACCEPT, "An idle client's echo"))),
    PROMPT_MS * 2,
    () =>
      new StageFailure(
        `Idle clients that finally sent a byte got no echo within ${PROMPT_MS * 2 / 1000} s`,
        { hint: HINT_ACCEPT },
      ),
  );
  return probed.length;
}

/** A new connection's first echo, timed; throws when it takes over {@linkcode PROMPT_MS}. */
async function timedEcho(ctx: StageContext, who: string, conn?: Deno.TcpConn): Promise<number> {
  const started = performance.now();
  const connection = conn ?? await ctx.connect();
  await withDeadline(
    echoOnce(connection, randomBytes(KiB), HINT_PROMPT, `${who}'s echo`),
    PROMPT_MS,
    () =>
      new StageFailure(`${who} waited over ${PROMPT_MS / 1000} s for a 1 KiB echo beside thousands of idle clients`, {
        hint: HINT_PROMPT,
      }),
  );
  return performance.now() - started;
}

/** The clients that keep echoing while the idle ones arrive. */
interface ActiveClients {
  /** Every active client has had one echo: the server's base memory includes them. */
  warmedUp: Promise<void>;
  /** Throws the first failure of an active client, if any. */
  check(): void;
  /** Stops them; how many echoes they had, the slowest in ms. Throws their failure. */
  stop(): Promise<{ echoes: number; slowest: number }>;
}

function startActiveClients(ctx: StageContext): ActiveClients {
  let running = true;
  let echoes = 0;
  let slowest = 0;
  let failure: unknown;
  const warm: Promise<void>[] = [];
  const loops = Array.from({ length: ACTIVE_CLIENTS }, (_, i) => {
    let warmed!: () => void;
    warm.push(new Promise<void>((resolve) => warmed = resolve));
    return (async () => {
      const conn = await ctx.connect();
      while (running) {
        slowest = Math.max(slowest, await timedEcho(ctx, `Active client ${i + 1}`, conn));
        echoes++;
        warmed();
        // A steady trickle, not a flood: the point is to be served while
        // the crowd arrives, not to compete with it for the CPU.
        await new Promise((resolve) => setTimeout(resolve, ACTIVE_PAUSE_MS));
      }
    })().catch((error) => {
      failure ??= error;
      warmed();
    });
  });
  const check = () => {
    if (failure !== undefined) throw failure;
  };
  return {
    warmedUp: Promise.all(warm).then(check),
    check,
    async stop() {
      running = false;
      await Promise.all(loops);
      check();
      return { echoes, slowest };
    },
  };
}
