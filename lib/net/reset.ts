/**
 * A client that connects and resets at once: the fault that makes
 * `accept()` fail with ECONNABORTED/ENOTCONN in a server that has not yet
 * picked the connection up. Deno's sockets cannot send a reset on purpose
 * (there is no SO_LINGER), so this opens its own socket through libc.
 *
 * Needs `--allow-ffi` (Linux, libc.so.6); {@linkcode canReset} says whether
 * it can run here.
 *
 * @module
 */

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOL_SOCKET = 1;
const SO_LINGER = 13;

type Libc = ReturnType<typeof openLibc>;
let libc: Libc | undefined;

function openLibc() {
  return Deno.dlopen(
    "libc.so.6",
    {
      socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
      setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
      // connect() may wait for a full accept queue: run it off the event loop.
      connect: { parameters: ["i32", "buffer", "u32"], result: "i32", nonblocking: true },
      close: { parameters: ["i32"], result: "i32" },
    } as const,
  );
}

/** Whether {@linkcode connectAndReset} can run: Linux and --allow-ffi. */
export function canReset(): boolean {
  return Deno.build.os === "linux" &&
    Deno.permissions.querySync({ name: "ffi" }).state === "granted";
}

/**
 * Connects to `hostname:port` (IPv4) and closes with SO_LINGER {on, 0}, so
 * the kernel sends RST instead of FIN. Resolves once the reset is sent;
 * rejects when the connection could not be made.
 *
 * @example
 * ```ts ignore
 * import { connectAndReset } from "./reset.ts";
 * for (let i = 0; i < 1000; i++) await connectAndReset("127.0.0.1", 8080);
 * ```
 */
export async function connectAndReset(hostname: string, port: number): Promise<void> {
  libc ??= openLibc();
  const { symbols } = libc;
  const fd = symbols.socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw new Error("Cannot open a socket for the reset client");
  try {
    // struct linger { int l_onoff = 1; int l_linger = 0; }
    const linger = new Int32Array([1, 0]);
    if (symbols.setsockopt(fd, SOL_SOCKET, SO_LINGER, linger, 8) !== 0) {
      throw new Error("Cannot set SO_LINGER on the reset client's socket");
    }
    // struct sockaddr_in: family (host order), port and address (network order).
    const addr = new Uint8Array(16);
    const view = new DataView(addr.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port, false);
    addr.set(hostname.split(".").map(Number), 4);
    if (await symbols.connect(fd, addr, addr.length) !== 0) {
      throw new Error(`The reset client could not connect to ${hostname}:${port}`);
    }
  } finally {
    symbols.close(fd);
  }
}
