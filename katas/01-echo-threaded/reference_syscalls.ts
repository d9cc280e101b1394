/**
 * Kata 1, syscall track — the concurrent echo server at the BSD-socket
 * level, one real thread per connection, typed in TypeScript and called in
 * libc through Deno's FFI.
 *
 * The C skeleton, call for call:
 *
 *   socket → setsockopt(SO_REUSEADDR) → bind → listen
 *   loop: accept → (client gone? close) → (over the thread budget? close)
 *         → pthread_create(worker, fd) → pthread_detach
 *   worker: read → write (all of it) → … → read returns 0 → close
 *
 * pthread_create is `new Worker(...)`: a Deno Worker is an OS thread with a
 * JavaScript engine of its own. It runs this same file; the main thread
 * hands it the descriptor and never waits for it again (pthread_detach: no
 * join). The worker's read() and write() block — its thread only, which is
 * the whole point of a thread per connection.
 *
 * Run it:   deno run --allow-ffi --allow-read=reference_syscalls.ts reference_syscalls.ts [--port 9000] [--host 127.0.0.1] [--max-threads 256]
 * Check it: deno task kata:1 check --reference --track syscalls
 *
 * (--allow-read lets the worker load this file. --allow-ffi is full trust:
 * code that can call libc can do anything this user can.)
 *
 * @module
 */

// ─── libc, by hand ──────────────────────────────────────────────────────────
// What C gets from <sys/socket.h>, <netinet/in.h> and <errno.h>. Kata 2's
// syscall file repeats part of this block on purpose: each kata is one file
// that runs on its own, with nothing to import.

/** Linux's values (the same on x86-64 and arm64). */
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_ERROR = 4;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const SOMAXCONN = 4096;
const RLIMIT_NOFILE = 7;
const MSG_PEEK = 0x2;
const MSG_DONTWAIT = 0x40;

/**
 * The calls we make, with C's types: `int` is i32, `size_t` usize, `ssize_t`
 * isize. 64-bit integers cross as BigInt: we pass BigInt(n) (a plain number
 * there makes Deno take its slow path) and turn results back with Number().
 */
const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept: { parameters: ["i32", "pointer", "pointer"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  usleep: { parameters: ["u32"], result: "i32" },
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** libc, or one sentence on why not: another system, or no --allow-ffi. */
function openLibc() {
  if (Deno.build.os !== "linux") {
    console.error(
      Deno.build.os === "windows"
        ? "The syscall track needs a BSD-socket libc, which Windows does not have: use the Deno.listen track"
        : `This is the Linux version: on ${Deno.build.os} the constants and sockaddr_in differ (it has sin_len)`,
    );
    Deno.exit(2);
  }
  try {
    return Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    console.error("The syscall track calls libc: run it with --allow-ffi (deno run --allow-ffi FILE --port P)");
    Deno.exit(2);
  }
}

/** Opened once per thread: the main thread, and again in each worker. */
const libc = openLibc();

/**
 * errno is a thread-local int; glibc says where this thread's lives. Read it
 * right after the call that failed, before anything else can make a system
 * call on this thread and overwrite it. Even then, under FFI, it may not be
 * the call's: this thread is also V8's, which can run its own code between
 * the call's return and our read and leave its own errno behind. So errno
 * only words a message; whether to retry, wait or give up is decided from
 * what errno cannot fake: how many times in a row a call failed.
 */
const errnoView = new Deno.UnsafePointerView(libc.__errno_location()!);
const errno = () => errnoView.getInt32();

/** What errno `code` means, in words: "Address already in use". */
const strerror = (code: number) => Deno.UnsafePointerView.getCString(libc.strerror(code)!);

/** A failed setup call, as perror() would say it: "bind: Address already in use". */
class SystemError extends Error {
  constructor(call: string, readonly code: number) {
    super(`${call}: ${strerror(code)}`);
    this.name = "SystemError";
  }
}

/** Throws when a setup call returned -1. */
function check(result: number, call: string): number {
  if (result < 0) throw new SystemError(call, errno());
  return result;
}

/** An int for setsockopt(): its bytes, in this machine's order. */
const ONE = new Uint8Array(new Int32Array([1]).buffer);

// ─── The main thread: listen, accept, hand over ──────────────────────────────

/**
 * struct sockaddr_in, byte by byte (16 bytes):
 *   0–1  sin_family  AF_INET, in host order (little-endian here)
 *   2–3  sin_port    in NETWORK order: big-endian, high byte first (htons)
 *   4–7  sin_addr    the four parts of the dotted quad, in order
 *   8–15 zero
 *
 * @example Bad: the port in host order — port 9000 (0x2328) is bound as 10275 (0x2823)
 * ```ts ignore
 * new DataView(addr.buffer).setUint16(2, port, true);
 * ```
 */
function sockaddrIn(host: string, port: number): Uint8Array {
  const parts = host.split(".").map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) {
    throw new TypeError(`Not an IPv4 address: ${host}`);
  }
  const addr = new Uint8Array(16);
  addr[0] = AF_INET & 0xff;
  addr[1] = AF_INET >> 8;
  addr[2] = port >> 8; // htons: the high byte goes first on the wire
  addr[3] = port & 0xff;
  addr.set(parts, 4);
  return addr;
}

/** socket + setsockopt(SO_REUSEADDR) + bind + listen: what Deno.listen does for you. */
function listenOn(host: string, port: number): number {
  const fd = check(libc.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
  // Without SO_REUSEADDR a restarted server cannot bind for about a minute,
  // while the old connections sit in TIME_WAIT.
  check(libc.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, ONE, ONE.length), "setsockopt(SO_REUSEADDR)");
  const addr = sockaddrIn(host, port);
  check(libc.bind(fd, addr, addr.length), `bind ${host}:${port}`);
  check(libc.listen(fd, SOMAXCONN), "listen");
  return fd;
}

/**
 * Accepts for ever; each connection goes to a new thread at once. This
 * thread blocks in accept() and nowhere else, so a slow client never holds
 * up the next one. `budget` says how many threads may live at once.
 */
function acceptLoop(listener: number, budget: ThreadBudget): never {
  // Live connection threads, shared with them: each subtracts itself as it ends.
  const live = new Int32Array(new SharedArrayBuffer(4));
  // Two troubles, each said on stderr once per episode, not once per client
  // or per retry: a server that logs every retry fills the disk next. Each
  // has its own episode, because they overlap: a server over its thread
  // budget can run out of descriptors too, and that is news, not a repeat.
  const refusing = new Episode(); // over the thread budget
  const outOfDescriptors = new Episode(); // accept() failing, twice or more in a row
  let failuresInARow = 0;
  while (true) {
    const fd = libc.accept(listener, null, null); // blocks until a client connects
    if (fd < 0) {
      // One failure is usually that client's (ECONNABORTED: it gave up while
      // queued) or a signal's (EINTR): retry at once. A second in a row is
      // something that lasts, most likely no descriptor left (EMFILE): the
      // client stays queued and accept() would fail again at once, so wait
      // for connections to close. The count decides, not errno: it only
      // words the message (see errno), and a V8 "EINTR" must not hide a
      // shortage.
      const code = errno();
      failuresInARow++;
      if (failuresInARow === 1) continue;
      if (outOfDescriptors.happens()) {
        console.error(`accept keeps failing (errno says: ${strerror(code)}): retrying every ${ACCEPT_PAUSE_MS} ms`);
      }
      libc.usleep(ACCEPT_PAUSE_MS * 1000);
      continue;
    }
    failuresInARow = 0;
    outOfDescriptors.worked();
    if (alreadyGone(fd)) {
      // A client that hung up (reset, or closed) while queued: nobody to
      // echo to. Close it here, at the cost of a system call or two, not of
      // a thread that the next, live client may need.
      libc.close(fd);
      continue;
    }
    if (Atomics.load(live, 0) >= budget.threads) {
      if (refusing.happens()) console.error(`echo: ${budget.bound}: refusing clients until one ends`);
      libc.close(fd);
      continue;
    }
    refusing.worked();
    // Nagle + the client's delayed ACK would stall small echoes ~40 ms.
    libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, ONE, ONE.length);
    try {
      // pthread_create: a new OS thread running this file, told its fd.
      const worker = new Worker(import.meta.url, { type: "module", name: CONNECTION_THREAD });
      Atomics.add(live, 0, 1);
      worker.postMessage({ fd, live } satisfies Handover);
      // pthread_detach: we keep no handle to wait on. The thread ends itself.
    } catch (error) {
      // No thread to be had (memory, thread limits): refuse this client only.
      console.error(`echo: cannot start a thread for a connection: ${error}`);
      libc.close(fd);
    }
  }
}

/** How long to stop accepting after failures in a row (out of descriptors), before trying again. */
const ACCEPT_PAUSE_MS = 100;

/**
 * How long a trouble must stay away before it is news again. The first
 * client served is not enough to end an episode: a server held at its limit
 * while clients come and go works between troubles all the time (a client
 * leaves, the next takes its slot, the limit is hit again at once), and
 * ending the episode there prints a line per client, the flood that saying
 * it once is meant to stop. 5 s is far longer than that churn's gaps (the
 * 100 ms retries) and still short beside how often anyone reads a log.
 */
const QUIET_BEFORE_NEWS_MS = 5_000;

/**
 * One trouble of the accept loop, said once per episode. An episode ends
 * when the server works again with the trouble QUIET_BEFORE_NEWS_MS gone.
 */
class Episode {
  #said = false;
  #lastSeen = 0;

  /** The trouble happens (again): true when this is a new episode, to be said. */
  happens(): boolean {
    this.#lastSeen = performance.now();
    if (this.#said) return false;
    this.#said = true;
    return true;
  }

  /** The server worked: the episode is over if the trouble has stayed away long enough. */
  worked(): void {
    if (this.#said && performance.now() - this.#lastSeen >= QUIET_BEFORE_NEWS_MS) this.#said = false;
  }
}

/** SO_ERROR's out-parameters: an int and its length; and one byte to peek into. Reused: only the accept loop asks. */
const socketError = new Int32Array(1);
const socketErrorLength = new Uint32Array(1);
const peeked = new Uint8Array(1);

/**
 * Whether the client hung up while it waited in the accept queue. Linux
 * still hands such a connection to accept(), and 1 000 of them would cost
 * 1 000 threads, 15–25 ms each of this accepting thread, before the next
 * live client is served (or, at the thread budget, while it is refused).
 * Two questions, each answered in a result, not in errno, so no one
 * else's errno can lie:
 * - a reset (RST) left a pending error: getsockopt(SO_ERROR) returns it;
 * - a close (FIN) with nothing sent before it: recv(MSG_PEEK | MSG_DONTWAIT)
 *   returns 0, end of stream, and takes nothing from the socket. A client
 *   that sent bytes and then closed returns more than 0: it is served (its
 *   echo, then its EOF). One still connected and silent returns -1 at once.
 */
function alreadyGone(fd: number): boolean {
  socketErrorLength[0] = socketError.byteLength;
  const result = libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, socketError, socketErrorLength);
  if (result === 0 && socketError[0] !== 0) return true;
  return Number(libc.recv(fd, peeked, 1n, MSG_PEEK | MSG_DONTWAIT)) === 0;
}

// ─── A connection's thread: blocking read, write all, until EOF ─────────────

/** The Worker name that tells this file it is running as a connection's thread. */
const CONNECTION_THREAD = "echo-connection";

/**
 * The read buffer, per thread. 64 KiB is the most a loopback segment
 * carries; a smaller one works too, but needs more read() calls.
 */
const READ_BYTES = 64 * 1024;

/**
 * A read() or write() that failed is tried once more, whatever errno says.
 * A signal (EINTR) needs that one retry; on a dead connection the retry
 * fails again (a write: EPIPE) or reads EOF (a read after ECONNRESET
 * returns 0), and either way the client is gone. Asking errno
 * instead would let a V8 "EINTR" keep this thread writing to a dead socket
 * for ever: a core burnt, and a thread of the budget never given back.
 */
const RETRIES_AFTER_FAILURE = 1;

/** Echoes until the client closes, then closes. Never throws: one client's trouble is its own. */
function serveConnection(fd: number): void {
  const buffer = new Uint8Array(READ_BYTES);
  let retries = RETRIES_AFTER_FAILURE;
  while (true) {
    // read() blocks this thread until *some* bytes arrive: n can be 1 even
    // if the client sent a megabyte. 0 means the client finished sending.
    const n = Number(libc.read(fd, buffer, BigInt(READ_BYTES)));
    if (n === 0) break;
    if (n < 0) {
      if (retries-- > 0) continue; // a signal, maybe; once more
      break; // failed again: this client is gone
    }
    retries = RETRIES_AFTER_FAILURE;
    if (!writeAll(fd, buffer.subarray(0, n))) break;
  }
  // After EOF everything read has been echoed, so closing is the whole
  // answer to the client's half-close.
  libc.close(fd);
}

/**
 * write() may take fewer bytes than it was given (a signal, a full send
 * buffer on a non-blocking socket) and returns how many: loop until all are
 * gone. False when the client is gone (EPIPE, ECONNRESET). The runtime
 * ignores SIGPIPE, as a C server must do itself, so a write to a reset
 * client fails with EPIPE instead of killing the process.
 *
 * @example Bad: silently drops the tail of a partial write
 * ```ts ignore
 * libc.write(fd, bytes, BigInt(bytes.length));
 * ```
 */
function writeAll(fd: number, bytes: Uint8Array): boolean {
  let written = 0;
  let retries = RETRIES_AFTER_FAILURE;
  while (written < bytes.length) {
    const rest = bytes.subarray(written);
    const n = Number(libc.write(fd, rest, BigInt(rest.length)));
    if (n < 0) {
      if (retries-- > 0) continue; // see RETRIES_AFTER_FAILURE
      return false;
    }
    retries = RETRIES_AFTER_FAILURE;
    written += n;
  }
  return true;
}

// ─── How many threads: memory, and descriptors ───────────────────────────────

/**
 * How many connection threads may live at once, at most. A thread here is a
 * whole JavaScript engine, ~9 MiB resident and ~15 ms to start (see the
 * card), so without a bound enough clients take all memory, or the kernel's
 * limit on memory mappings, and the process dies with every client in it.
 * Over the bound, a client is accepted and closed at once: a quick, visible
 * refusal rather than a silent wait.
 * @default {256} (--max-threads): about 2.4 GiB
 */
const DEFAULT_MAX_THREADS = 256;

/**
 * A thread per connection costs descriptors as well as memory. Measured
 * (Deno 2.9, Linux): the client's socket, and six the runtime opens for
 * each Worker — two epoll instances and an eventfd for its event loop,
 * copies of stdout and stderr, a copy of a socket the runtime shares. A
 * Worker that finds none left does not fail politely: Deno panics ("Too
 * many open files") and the whole process dies, every client with it.
 */
const DESCRIPTORS_PER_THREAD = 7;

/**
 * Descriptors kept back for the runtime's own later needs (its signal
 * handling opens some after start), a refused client's moment between
 * accept() and close(), and threads that have counted themselves out but
 * not yet given theirs back.
 */
const RESERVED_DESCRIPTORS = 16;

/** How many threads may live at once, and what that number comes from, for the refusal message. */
interface ThreadBudget {
  threads: number;
  bound: string;
}

/**
 * The thread bound: --max-threads, or fewer if the open-files limit
 * (RLIMIT_NOFILE, `ulimit -n`) cannot pay for that many. What is open
 * already is read off the listener: the kernel hands out the lowest free
 * descriptor, so the listener's own number counts the ones below it.
 */
function threadBudget(listener: number, maxThreads: number): ThreadBudget {
  // struct rlimit { rlim_t rlim_cur, rlim_max; }: two 64-bit integers. The
  // soft limit, rlim_cur, is the one that bites.
  const limits = new BigUint64Array(2);
  check(libc.getrlimit(RLIMIT_NOFILE, limits), "getrlimit(RLIMIT_NOFILE)");
  const fileLimit = Number(limits[0]); // RLIM_INFINITY (2⁶⁴ − 1) is no bound either
  const affordable = Math.floor((fileLimit - (listener + 1) - RESERVED_DESCRIPTORS) / DESCRIPTORS_PER_THREAD);
  if (affordable >= maxThreads) return { threads: maxThreads, bound: `${maxThreads} threads busy` };
  return {
    threads: Math.max(0, affordable),
    bound: `not enough open files for another thread (limit ${fileLimit}, ${DESCRIPTORS_PER_THREAD} a thread)`,
  };
}

// ─── Which thread am I? ──────────────────────────────────────────────────────

/** What the accept loop tells a new connection thread. */
interface Handover {
  fd: number;
  /** The count of live connection threads, shared. */
  live: Int32Array;
}

if ((globalThis as { name?: string }).name === CONNECTION_THREAD) {
  // A connection's thread: serve the descriptor we are handed, count
  // ourselves out, and end this thread (the detached thread returning).
  self.addEventListener("message", (event) => {
    const { fd, live } = (event as MessageEvent<Handover>).data;
    serveConnection(fd);
    Atomics.sub(live, 0, 1);
    self.close();
  }, { once: true });
} else if (import.meta.main) {
  // Imported here, not at the top: every connection thread loads this file
  // again, and node:util would add ~3 ms to each one's start.
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "9000" },
      host: { type: "string", default: "127.0.0.1" },
      "max-threads": { type: "string", default: String(DEFAULT_MAX_THREADS) },
    },
  });
  const port = Number(values.port);
  const maxThreads = Number(values["max-threads"]);
  if (!(Number.isInteger(port) && port >= 1 && port <= 65_535)) {
    console.error(`--port takes a number from 1 to 65535, not ${values.port}`);
    Deno.exit(2);
  }
  if (!(Number.isInteger(maxThreads) && maxThreads >= 1)) {
    console.error(`--max-threads takes a whole number from 1, not ${values["max-threads"]}`);
    Deno.exit(2);
  }
  let listener, budget;
  try {
    listener = listenOn(values.host, port);
    budget = threadBudget(listener, maxThreads);
  } catch (error) {
    if (!(error instanceof SystemError || error instanceof TypeError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  }
  if (budget.threads === 0) {
    console.error(`echo: the open-files limit leaves no room for a single connection thread: raise it (ulimit -n)`);
    Deno.exit(1);
  }
  console.log(
    `echo server (a thread per connection, at most ${budget.threads}) listening on ${values.host}:${port}`,
  );
  acceptLoop(listener, budget);
}
