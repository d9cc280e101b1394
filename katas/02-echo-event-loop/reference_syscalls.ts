/**
 * Kata 2, syscall track — the event-driven echo server at the BSD-socket
 * level: non-blocking sockets, epoll, and an output buffer per connection,
 * typed in TypeScript and called in libc through Deno's FFI.
 *
 * One thread, one loop: epoll_wait() says which descriptors are ready; for
 * each, read until EAGAIN and write what the kernel takes. What it does not
 * take stays in that connection's buffer, and only then do we ask epoll for
 * EPOLLOUT, to hear when the socket can take more. Nothing ever blocks but
 * epoll_wait() itself, so nobody waits for anybody.
 *
 * This is the Linux file (epoll). On macOS and the BSDs kqueue is the twin:
 * a kqueue variant is a sibling file that replaces only the section marked
 * "The readiness API" (and the few constants that differ). Windows has
 * neither; use the Deno.listen track there.
 *
 * Run it:   deno run --allow-ffi reference_syscalls.ts [--port 9000] [--host 127.0.0.1]
 * Check it: deno task kata:2 check --reference --track syscalls
 *
 * --allow-ffi is full trust: code that can call libc can do anything this
 * user can, whatever other flags say. The checker says so before it runs an
 * attempt of this track.
 *
 * @module
 */

import { parseArgs } from "node:util";

// ─── libc, by hand ──────────────────────────────────────────────────────────
// What C gets from <sys/socket.h>, <sys/epoll.h> and <errno.h>. Kata 1's
// syscall file repeats part of this block on purpose: each kata is one file
// that runs on its own, with nothing to import.

/** Linux's values (the same on x86-64 and arm64). */
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const SOMAXCONN = 4096;
const POLLIN = 0x001;
const EPOLLIN = 0x001;
const EPOLLOUT = 0x004;
const EPOLLERR = 0x008;
const EPOLLHUP = 0x010;
const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_MOD = 3;

/**
 * The calls we make, with C's types: `int` is i32, `size_t` usize, `ssize_t`
 * isize. 64-bit integers cross as BigInt: we pass BigInt(n) (a plain number
 * there makes Deno take its slow path, 2× the cost of the call) and turn
 * results back with Number().
 */
const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "usize", "i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** libc, or one sentence on why not: another system, or no --allow-ffi. */
function openLibc() {
  const problem = platformProblem();
  if (problem) {
    console.error(problem);
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

/** This file is Linux's; elsewhere it says so, in one sentence, instead of failing obscurely. */
function platformProblem(): string | undefined {
  if (Deno.build.os === "linux") return undefined;
  if (Deno.build.os === "windows") {
    return "The syscall track needs a BSD-socket libc, which Windows does not have: use the Deno.listen track";
  }
  return `This is the Linux (epoll) version: on ${Deno.build.os}, kqueue is the twin, a sibling file that replaces the readiness section`;
}

const libc = openLibc();

/**
 * errno is a thread-local int; glibc says where it lives. In C you read it
 * right after the call that failed and it is still the call's. Here it may
 * not be: this thread is also V8's, and between the call's return and our
 * read V8 can run its own code on it (tier-up, a lock, a clock calibration
 * that opens a missing /sys file) and leave its own errno behind. We once saw
 * a read's EAGAIN come back as ENOENT. So errno is a clue, good for the
 * wording of a message, never a reason to drop a connection, to stop the
 * server or to keep it busy: the loop below decides those from what the
 * kernel reports otherwise, epoll for a connection, poll() for the listener.
 */
const errnoView = new Deno.UnsafePointerView(libc.__errno_location()!);
const errno = () => errnoView.getInt32();

/** What errno `code` means, in words: "Address already in use". */
const strerror = (code: number) => Deno.UnsafePointerView.getCString(libc.strerror(code)!);

/** A failed call, as perror() would say it: "bind: Address already in use". */
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

/**
 * struct sockaddr_in, byte by byte (16 bytes):
 *   0–1  sin_family  AF_INET, in host order (little-endian here)
 *   2–3  sin_port    in NETWORK order: big-endian, high byte first (htons)
 *   4–7  sin_addr    the four parts of the dotted quad, in order
 *   8–15 zero
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
  // SOCK_NONBLOCK is the one-call form of fcntl(fd, F_SETFL, O_NONBLOCK):
  // accept() with nothing pending now fails with EAGAIN instead of blocking.
  const fd = check(libc.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket");
  // Without SO_REUSEADDR a restarted server cannot bind for about a minute,
  // while the old connections sit in TIME_WAIT.
  check(libc.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, ONE, ONE.length), "setsockopt(SO_REUSEADDR)");
  const addr = sockaddrIn(host, port);
  check(libc.bind(fd, addr, addr.length), `bind ${host}:${port}`);
  check(libc.listen(fd, SOMAXCONN), "listen");
  return fd;
}

// ─── The readiness API: epoll (a kqueue variant replaces this section) ───────

/**
 * struct epoll_event is { uint32_t events; uint64_t data; }. On x86-64 the
 * kernel packs it into 12 bytes; elsewhere it is 16, with `data` at 8. We
 * put the descriptor in `data`, so an event says which connection it is for.
 */
const EVENT_BYTES = Deno.build.arch === "x86_64" ? 12 : 16;
const DATA_OFFSET = Deno.build.arch === "x86_64" ? 4 : 8;
/** How many ready descriptors one epoll_wait() may report. */
const MAX_EVENTS = 256;

class Epoll {
  readonly fd = check(libc.epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
  /** What epoll_wait() fills in, read as 32-bit words (strides are multiples of 4). */
  readonly #ready = new Uint32Array(MAX_EVENTS * EVENT_BYTES / 4);
  readonly #readyBytes = new Uint8Array(this.#ready.buffer);
  readonly #one = new Uint32Array(EVENT_BYTES / 4);
  readonly #oneBytes = new Uint8Array(this.#one.buffer);

  /** Registers `fd` (EPOLL_CTL_ADD) or changes what we want to hear about it (EPOLL_CTL_MOD). */
  control(op: number, fd: number, events: number): number {
    this.#one.fill(0);
    this.#one[0] = events;
    this.#one[DATA_OFFSET / 4] = fd; // the low half of data.u64, little-endian
    return libc.epoll_ctl(this.fd, op, fd, this.#oneBytes);
  }

  /** Blocks until something is ready (or `timeoutMs` passes; -1: no limit); calls `onReady` per descriptor. */
  wait(timeoutMs: number, onReady: (fd: number, events: number) => void): void {
    const n = libc.epoll_wait(this.fd, this.#readyBytes, MAX_EVENTS, timeoutMs);
    // With these arguments the only failure is EINTR (a signal arrived): wait
    // again. Not asking errno means V8 cannot talk us into stopping the server.
    if (n < 0) return;
    const stride = EVENT_BYTES / 4;
    for (let i = 0; i < n; i++) {
      onReady(this.#ready[i * stride + DATA_OFFSET / 4], this.#ready[i * stride]);
    }
  }
}

// ─── The server ─────────────────────────────────────────────────────────────

/**
 * Backpressure: above HIGH_WATER unsent bytes we stop reading from a client
 * (it is not reading its echoes, and reading more would only grow our buffer
 * without bound); below LOW_WATER we read again. Every buffer in an event
 * loop needs such a bound: one loop holds them all, so one greedy client
 * could otherwise take the memory of the whole server.
 */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/**
 * One read buffer for the whole loop: only one connection is read at a
 * time. Each buffer-full goes back in one write, so its size is also how
 * much an echo waits behind before it is sent. 64 KiB is the size that won
 * when measured with `deno task bench echo` (stream 64 KiB × 100, against
 * the C reference in the same rounds): 256 KiB gave 0.78× its throughput,
 * 128 KiB 0.97×, 64 KiB 1.00×. Why the bigger ones lost was not pinned down
 * further: holding bytes back alone does not explain it, since the C
 * reference also reads until EAGAIN (64 KiB a read, up to its high-water
 * mark) before its one write, and does not lose by it.
 */
const READ_BYTES = 64 * 1024;
/** A client's queue starts this small and doubles as needed. */
const QUEUE_START_BYTES = 16 * 1024;
/** How long to stop accepting when out of descriptors (EMFILE), before trying again. */
const ACCEPT_PAUSE_MS = 100;
/**
 * How long a shortage must stay away before it is news again. The first
 * accept that works is not enough to end it: a server held at its limit
 * while clients come and go accepts between shortages all the time (a
 * client leaves, the next takes its descriptor, the limit is hit again at
 * once), and ending the shortage there prints a line per client, the flood
 * that saying it once is meant to stop. 5 s is far longer than that churn's
 * gaps (the 100 ms pauses) and still short beside how often anyone reads a
 * log.
 */
const QUIET_BEFORE_NEWS_MS = 5_000;
/**
 * accept4() failures in a row, with clients still waiting, that mean a
 * lasting trouble. One can be that client's own (ECONNABORTED: it gave up
 * while queued; the next may be fine); a second, at once, is not chance.
 */
const ACCEPT_FAILURES_BEFORE_PAUSE = 2;

/**
 * One client. An idle one is this object and nothing else — no buffer of its
 * own until a write comes back partial — so 10 000 idle clients cost well
 * under 1 KiB each.
 */
interface Client {
  fd: number;
  /** Unsent bytes are out[start, end); null while nothing waits. */
  out: Uint8Array | null;
  start: number;
  end: number;
  /** What epoll is told about this fd now: EPOLLIN, EPOLLOUT, both. */
  interest: number;
  /** The client sent EOF: close once `out` is empty. */
  inputDone: boolean;
}

const pending = (client: Client) => client.end - client.start;

/** The event loop: owns every client; runs until the process ends. */
class EchoLoop {
  readonly #epoll = new Epoll();
  /** Clients by descriptor: the kernel hands out the lowest free fd, so this stays dense. */
  readonly #clients: (Client | undefined)[] = [];
  readonly #readBuffer = new Uint8Array(READ_BYTES);
  #acceptPausedUntil = 0;
  /** Out of descriptors, said once per shortage (see #pauseAccepting), and when it last struck. */
  #shortageReported = false;
  #lastShortageAt = 0;
  /** struct pollfd { int fd; short events, revents; } for the listener, to ask whether anyone waits. */
  readonly #listenerPoll = new Int32Array(2);

  constructor(readonly listener: number) {
    check(this.#epoll.control(EPOLL_CTL_ADD, listener, EPOLLIN), "epoll_ctl(listener)");
    this.#listenerPoll[0] = listener; // int fd: bytes 0–3
    new Int16Array(this.#listenerPoll.buffer)[2] = POLLIN; // short events: bytes 4–5 (revents, 6–7, is the answer)
  }

  run(): never {
    const onReady = (fd: number, events: number) => {
      if (fd === this.listener) this.#acceptAll();
      else this.#serve(this.#clients[fd]!, events);
    };
    while (true) {
      let timeout = -1;
      if (this.#acceptPausedUntil > 0) {
        timeout = Math.max(0, Math.ceil(this.#acceptPausedUntil - performance.now()));
        if (timeout === 0) this.#resumeAccepting();
      }
      this.#epoll.wait(timeout, onReady);
    }
  }

  /**
   * The listener is readable: accept every pending connection, until
   * accept4() fails.
   *
   * Why it failed decides what comes next, and the reasons want opposite
   * answers: EAGAIN (nobody left) means back to epoll_wait; EMFILE (no
   * descriptor for the client, who stays queued) means stop asking for a
   * while, or the level-triggered listener wakes us at once, for ever. errno
   * would tell them apart, but errno may lie (see errno above), and either
   * lie costs the server: a spin at a full core, or no accepts at all. So we
   * ask the kernel the question itself, "is anyone still waiting?": poll()
   * on the listener, timeout 0. No: the batch is done. Yes, and accept4()
   * failed anyway, twice in a row: that lasts, pause.
   *
   * @example Bad: errno decides, and a lying errno makes the server spin
   * ```ts ignore
   * if (errno() === EMFILE) return this.#pauseAccepting();
   * return; // "EAGAIN": epoll_wait wakes us again at once
   * ```
   */
  #acceptAll(): void {
    let failuresInARow = 0;
    while (true) {
      // accept4 makes the new socket non-blocking in the same call.
      const fd = libc.accept4(this.listener, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        const code = errno(); // read at once, before poll() can change it: it only words the message
        if (!this.#someoneWaiting()) return; // EAGAIN: all accepted
        if (++failuresInARow < ACCEPT_FAILURES_BEFORE_PAUSE) continue;
        return this.#pauseAccepting(code);
      }
      failuresInARow = 0;
      if (this.#shortageReported && performance.now() - this.#lastShortageAt >= QUIET_BEFORE_NEWS_MS) {
        this.#shortageReported = false; // over: the next one is news
      }
      // Nagle + the client's delayed ACK would stall small echoes ~40 ms.
      libc.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, ONE, ONE.length);
      const client: Client = { fd, out: null, start: 0, end: 0, interest: EPOLLIN, inputDone: false };
      if (this.#epoll.control(EPOLL_CTL_ADD, fd, EPOLLIN) < 0) {
        libc.close(fd);
        continue;
      }
      this.#clients[fd] = client;
    }
  }

  /**
   * Whether a client waits in the listener's queue: poll() with timeout 0
   * answers at once, and in its result, not in errno. A poll() that fails
   * (-1) counts as yes: the worst a wrong yes costs is one pause.
   */
  #someoneWaiting(): boolean {
    return libc.poll(this.#listenerPoll, 1n, 0) !== 0;
  }

  /**
   * accept4() keeps failing while clients wait: out of descriptors (EMFILE,
   * ENFILE) or kernel memory, as a rule. The pending connection stays in the
   * queue, so a level-triggered listener would wake us again at once, for
   * ever: take it out of the epoll set for a moment instead of spinning.
   * errno only words the message, "errno says" because it may be V8's. Said
   * once per shortage, not once per pause: a shortage can last minutes, and
   * a line every 100 ms would fill the log (and the disk) instead of
   * informing. It is over once an accept works QUIET_BEFORE_NEWS_MS after
   * the last pause.
   */
  #pauseAccepting(code: number): void {
    this.#lastShortageAt = performance.now();
    if (!this.#shortageReported) {
      const says = strerror(code);
      console.error(
        `accept4 keeps failing with clients waiting (errno says: ${says}): pausing accepts, ${ACCEPT_PAUSE_MS} ms at a time, until one works`,
      );
      this.#shortageReported = true;
    }
    this.#epoll.control(EPOLL_CTL_MOD, this.listener, 0);
    this.#acceptPausedUntil = performance.now() + ACCEPT_PAUSE_MS;
  }

  #resumeAccepting(): void {
    this.#acceptPausedUntil = 0;
    this.#epoll.control(EPOLL_CTL_MOD, this.listener, EPOLLIN);
  }

  /**
   * Something happened on a client's socket.
   *
   * The connection's fate is decided here, from what epoll reports, not from
   * errno (see errno above). A read or write that fails with -1 just stops
   * for now: EAGAIN is the usual reason, and the one real failure on a TCP
   * socket, a reset or a timeout, also closes it in the kernel, which epoll
   * then reports as EPOLLERR or EPOLLHUP, every time we wait, until we close.
   */
  #serve(client: Client, events: number): void {
    // EPOLLERR: a pending error (a reset). EPOLLHUP: both directions are shut,
    // which for us means the connection is dead (a client's own half-close,
    // shutdown(SHUT_WR), shows as EOF on read instead). Nothing left to say.
    if (events & (EPOLLERR | EPOLLHUP)) return this.#close(client);
    // Read only when epoll says readable (EPOLLIN also reports EOF: read()
    // returning 0 tells it). A wake-up for EPOLLOUT alone has nothing to
    // read; a read there would only fail with EAGAIN, one system call wasted
    // per drained write.
    if (events & EPOLLIN) this.#drainInput(client);
    if (pending(client) > 0) this.#flush(client);
    if (client.inputDone && pending(client) === 0) return this.#close(client);
    this.#updateInterest(client);
  }

  /**
   * Reads until EAGAIN, the client's EOF, or the high-water mark. What was
   * read goes straight back out, one write per buffer-full, not one per
   * read (a read returns whatever has arrived, often less than 64 KiB);
   * what the kernel does not take is queued.
   */
  #drainInput(client: Client): void {
    while (pending(client) < HIGH_WATER) {
      const filled = this.#fill(client);
      if (filled > 0) this.#echo(client, filled);
      if (filled < READ_BYTES) return; // EAGAIN (or a failure) or EOF came first
    }
    // Stopped at HIGH_WATER: #updateInterest stops reading.
  }

  /**
   * Reads into the loop's buffer until it is full, read() fails, or EOF
   * (which marks the client done). Returns how many bytes it read. A failure
   * is EAGAIN (drained: nothing more for now) or a dead connection, which
   * epoll reports next (see #serve): either way, stop reading.
   */
  #fill(client: Client): number {
    const buffer = this.#readBuffer;
    let filled = 0;
    while (filled < READ_BYTES) {
      const into = filled === 0 ? buffer : buffer.subarray(filled);
      const n = Number(libc.read(client.fd, into, BigInt(READ_BYTES - filled)));
      if (n < 0) return filled;
      if (n === 0) {
        client.inputDone = true;
        return filled;
      }
      filled += n;
    }
    return filled;
  }

  /**
   * Writes the first `length` bytes of the read buffer back. The usual case
   * is a single write straight from the read buffer, no copy; only when
   * bytes are already queued, or the kernel takes fewer, does anything go to
   * the client's queue. A write that fails (the send buffer is full, or the
   * connection died, which epoll reports next) counts as nothing sent.
   */
  #echo(client: Client, length: number): void {
    let sent = 0;
    if (pending(client) === 0) { // else these bytes must wait behind the queued ones
      sent = Math.max(0, Number(libc.write(client.fd, this.#readBuffer, BigInt(length))));
    }
    if (sent < length) queue(client, this.#readBuffer.subarray(sent, length));
  }

  /**
   * Sends as much of the queue as the kernel takes now. When write() fails
   * the rest waits for EPOLLOUT (or, if the connection died, EPOLLHUP).
   */
  #flush(client: Client): void {
    while (pending(client) > 0) {
      const n = Number(libc.write(client.fd, client.out!.subarray(client.start, client.end), BigInt(pending(client))));
      if (n < 0) return;
      client.start += n;
    }
    // Drained: give the buffer back, so that an idle client holds none.
    client.out = null;
    client.start = client.end = 0;
  }

  /**
   * Tells epoll what we want to hear, and only when that changed (each change
   * is a system call). EPOLLIN while under the high-water mark and before
   * EOF (after EOF the socket stays readable for ever: asking again would
   * spin); EPOLLOUT only while bytes wait — a writable socket is almost
   * always writable, so leaving EPOLLOUT on turns the loop into a busy loop.
   */
  #updateInterest(client: Client): void {
    const queued = pending(client);
    let want = 0;
    if (!client.inputDone) {
      const wasReading = (client.interest & EPOLLIN) !== 0;
      if (queued < (wasReading ? HIGH_WATER : LOW_WATER)) want |= EPOLLIN;
    }
    if (queued > 0) want |= EPOLLOUT;
    if (want === client.interest) return;
    client.interest = want;
    if (this.#epoll.control(EPOLL_CTL_MOD, client.fd, want) < 0) this.#close(client);
  }

  #close(client: Client): void {
    // close() also takes the descriptor out of the epoll set.
    libc.close(client.fd);
    this.#clients[client.fd] = undefined;
  }
}

/** Appends `bytes` to the client's queue: slides it to the front, or grows it, when it is full. */
function queue(client: Client, bytes: Uint8Array): void {
  const queued = pending(client);
  const out = client.out;
  if (!out || client.end + bytes.length > out.length) {
    if (out && queued + bytes.length <= out.length) {
      out.copyWithin(0, client.start, client.end);
    } else {
      let size = out?.length ?? QUEUE_START_BYTES;
      while (size < queued + bytes.length) size *= 2;
      const grown = new Uint8Array(size);
      if (out) grown.set(out.subarray(client.start, client.end));
      client.out = grown;
    }
    client.start = 0;
    client.end = queued;
  }
  client.out!.set(bytes, client.end);
  client.end += bytes.length;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { port: { type: "string", default: "9000" }, host: { type: "string", default: "127.0.0.1" } },
  });
  const port = Number(values.port);
  if (!(Number.isInteger(port) && port >= 1 && port <= 65_535)) {
    console.error(`--port takes a number from 1 to 65535, not ${values.port}`);
    Deno.exit(2);
  }
  try {
    const loop = new EchoLoop(listenOn(values.host, port));
    console.log(`event-loop echo server (epoll) listening on ${values.host}:${port}`);
    loop.run();
  } catch (error) {
    if (!(error instanceof SystemError || error instanceof TypeError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  }
}
