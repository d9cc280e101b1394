/**
 * Kata 2, syscall track — event-driven echo server: non-blocking sockets,
 * epoll, and an output buffer per connection, written against libc as a C
 * programmer would.
 *
 * Goal: one thread, one loop. epoll_wait() says which descriptors are
 * ready; on readable, read until EAGAIN; write what the kernel takes and
 * keep the rest in that connection's buffer; ask for EPOLLOUT only while a
 * buffer is non-empty; close on EOF once the buffer has drained. The
 * "headers" below are given; fill in the TODOs from memory. The checker
 * re-runs every time you save.
 *
 * Run it:   deno run --allow-ffi <this file> --port 9000
 * Check it: deno task kata:2 check --track syscalls --file <this file>
 *
 * @module
 */

// The header block declares more than the skeleton uses yet: you will.
// deno-lint-ignore-file no-unused-vars

import { parseArgs } from "node:util";

// ─── "Headers": constants and prototypes (given) ────────────────────────────

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
const EINTR = 4;
const EAGAIN = 11;
const ENFILE = 23;
const EMFILE = 24;
const ECONNABORTED = 103;
const EPOLLIN = 0x001;
const EPOLLOUT = 0x004;
const EPOLLERR = 0x008;
const EPOLLHUP = 0x010;
const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;

/**
 * struct epoll_event { uint32_t events; uint64_t data; }: packed into 12
 * bytes on x86-64, 16 elsewhere (data at 8). Little-endian.
 */
const EVENT_BYTES = Deno.build.arch === "x86_64" ? 12 : 16;
const DATA_OFFSET = Deno.build.arch === "x86_64" ? 4 : 8;

/** C's types: `int` is i32, `size_t` usize (pass BigInt(n)), `ssize_t` isize (Number() it). */
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

/** Linux only; needs --allow-ffi. */
const libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;

/**
 * This thread's errno: read it right after the call that returned -1. Under
 * FFI it is a clue only: V8 shares this thread and may overwrite it first.
 * Decide a connection's fate from epoll (EPOLLERR, EPOLLHUP), not from errno.
 */
const errnoView = new Deno.UnsafePointerView(libc.__errno_location()!);
const errno = () => errnoView.getInt32();

/** What perror() would print: "bind: Address already in use". */
const describe = (call: string, code: number) => `${call}: ${Deno.UnsafePointerView.getCString(libc.strerror(code)!)}`;

/** An int 1 for setsockopt(), as bytes. */
const ONE = new Uint8Array(new Int32Array([1]).buffer);

/** Marks what is still to write: the server says which part, and exits. */
function todo(what: string): never {
  console.error(`Not written yet: ${what} (see its TODO)`);
  Deno.exit(1);
}

// ─── Your part ──────────────────────────────────────────────────────────────

/** One client's state, owned by the loop. */
interface Client {
  fd: number;
  // TODO: an output buffer for the bytes the kernel did not take yet,
  //       what epoll is told about this fd, and whether the client sent EOF.
}

/** A non-blocking listening socket's descriptor. */
function listenOn(host: string, port: number): number {
  // TODO: socket (non-blocking), setsockopt(SO_REUSEADDR), bind with a
  //       sockaddr_in built byte by byte (the port in network order), listen.
  return todo("listenOn");
}

/** The event loop: never returns. */
function runLoop(listener: number): never {
  // TODO: epoll_create1; register the listener for EPOLLIN (data = its fd).
  // TODO: loop on epoll_wait (retry on EINTR). For each ready descriptor:
  //   - the listener: accept4(SOCK_NONBLOCK) until it fails, TCP_NODELAY on,
  //     register each client for EPOLLIN. Failed: ran dry (EAGAIN) or out of
  //     descriptors (EMFILE, the client stays queued)? Not errno's to say:
  //     poll() the listener (struct pollfd {int fd; short events, revents},
  //     POLLIN = 1, timeout 0); still readable after two failures: pause;
  //   - a client: close on EPOLLERR/EPOLLHUP; read until it fails (EAGAIN,
  //     usually; 0 is EOF); write what the kernel takes
  //     and buffer the rest; EPOLLOUT only while the buffer is non-empty;
  //     stop reading above a high-water mark; close after EOF once drained.
  return todo("runLoop");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { port: { type: "string", default: "9000" }, host: { type: "string", default: "127.0.0.1" } },
  });
  const listener = listenOn(values.host, Number(values.port));
  console.log(`listening on ${values.host}:${values.port}`);
  runLoop(listener);
}
