/**
 * Kata 1, syscall track — concurrent echo server, one thread per connection,
 * written against libc as a C programmer would.
 *
 * Goal: socket → setsockopt(SO_REUSEADDR) → bind → listen → accept in a
 * loop, and one thread per connection (a Worker: pthread_create) that is
 * never joined (pthread_detach) and does blocking read/write until EOF.
 * The "headers" below are given; fill in the TODOs from memory. The checker
 * re-runs every time you save.
 *
 * Run it:   deno run --allow-ffi --allow-read=<this file> <this file> --port 9000
 * Check it: deno task kata:1 check --track syscalls --file <this file>
 *
 * @module
 */

// The header block declares more than the skeleton uses yet: you will.
// deno-lint-ignore-file no-unused-vars

// ─── "Headers": constants and prototypes (given) ────────────────────────────

/** Linux's values (the same on x86-64 and arm64). */
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SO_ERROR = 4;
const MSG_PEEK = 0x2;
const MSG_DONTWAIT = 0x40;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const SOMAXCONN = 4096;
const EINTR = 4;
const ENFILE = 23;
const EMFILE = 24;
const ECONNABORTED = 103;

/** C's types: `int` is i32, `size_t` usize (pass BigInt(n)), `ssize_t` isize (Number() it). */
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
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** Linux only; needs --allow-ffi. */
const libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;

/** This thread's errno: read it right after the call that returned -1. */
const errnoView = new Deno.UnsafePointerView(libc.__errno_location()!);
const errno = () => errnoView.getInt32();

/** What perror() would print: "bind: Address already in use". */
const describe = (call: string, code: number) => `${call}: ${Deno.UnsafePointerView.getCString(libc.strerror(code)!)}`;

/** An int 1 for setsockopt(), as bytes. */
const ONE = new Uint8Array(new Int32Array([1]).buffer);

/** The Worker name that tells this file it runs as a connection's thread. */
const CONNECTION_THREAD = "echo-connection";

/** Marks what is still to write: the server says which part, and exits. */
function todo(what: string): never {
  console.error(`Not written yet: ${what} (see its TODO)`);
  Deno.exit(1);
}

// ─── Your part ──────────────────────────────────────────────────────────────

/** struct sockaddr_in (16 bytes) for host:port. */
function sockaddrIn(host: string, port: number): Uint8Array {
  // TODO: sin_family (2 bytes, host order), sin_port (2 bytes, network
  //       order!), sin_addr (4 bytes, the dotted quad in order), 8 zeros.
  return todo("sockaddrIn");
}

/** Returns a listening socket's descriptor. */
function listenOn(host: string, port: number): number {
  // TODO: socket, setsockopt(SO_REUSEADDR), bind, listen. Check each result:
  //       -1 means failed, and errno() says why.
  return todo("listenOn");
}

/** Accepts for ever; hands each connection to a thread of its own. */
function acceptLoop(listener: number): never {
  // TODO: accept in a loop. No failure ends the server: retry at once once
  //       (EINTR, ECONNABORTED: that client gave up); failing again is most
  //       likely EMFILE (no descriptors left): wait a little, then retry.
  //       Under FFI errno may be V8's, not accept's: let it word the message
  //       only. Turn Nagle off (TCP_NODELAY) on each client.
  // TODO: a client that hung up while queued is already gone: after a reset,
  //       getsockopt(SOL_SOCKET, SO_ERROR) fills in its pending error (an
  //       out-parameter, not errno); after a close with nothing sent,
  //       recv(fd, buf, 1, MSG_PEEK | MSG_DONTWAIT) returns 0. Close such a
  //       one instead of paying a thread for it.
  // TODO: new Worker(import.meta.url, { type: "module", name: CONNECTION_THREAD }),
  //       post it the descriptor, and do not wait for it.
  return todo("acceptLoop");
}

/** In a connection's thread: echo until EOF, then close. */
function serveConnection(fd: number): void {
  // TODO: read into a buffer; 0 means EOF, -1 an error (retry once: EINTR
  //       may be V8's errno, and a dead socket fails again, or reads EOF).
  // TODO: write back exactly the n bytes read — all of them, even when
  //       write() takes fewer (it returns how many).
  // TODO: close the descriptor.
  todo("serveConnection");
}

if ((globalThis as { name?: string }).name === CONNECTION_THREAD) {
  self.addEventListener("message", (event) => {
    serveConnection((event as MessageEvent<number>).data);
    self.close();
  }, { once: true });
} else if (import.meta.main) {
  // Imported here, not at the top: every connection thread loads this file
  // again, and node:util would add ~3 ms to each one's start.
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    args: Deno.args,
    options: { port: { type: "string", default: "9000" }, host: { type: "string", default: "127.0.0.1" } },
  });
  const listener = listenOn(values.host, Number(values.port));
  console.log(`listening on ${values.host}:${values.port}`);
  acceptLoop(listener);
}
