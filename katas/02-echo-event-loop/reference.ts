/**
 * Kata 2 — event-driven echo server: one loop owns every connection.
 *
 * In C this kata is epoll: make sockets non-blocking, register them, then
 * loop on epoll_wait(), and for each ready fd read until EAGAIN and write
 * what you can, keeping the rest in that connection's output buffer.
 *
 * Deno's I/O is completion-based rather than readiness-based: you do not ask
 * "is this socket readable?", you start a read and are told when it is done
 * (like IOCP on Windows or io_uring on Linux). So the loop's shape is:
 *
 *   start operations ──▶ each completion posts an event to ONE queue
 *          ▲                              │
 *          └── the loop drains the queue ◀┘   (the epoll_wait() of this file)
 *
 * All state (buffers, flags) lives in the loop and only the loop touches it:
 * no locks, no races, and no task per connection. Nothing in the loop ever
 * awaits a single connection, so one slow client cannot stall the others.
 *
 * Run it:   deno run --allow-net reference.ts [--port 9000] [--host 127.0.0.1]
 * Poke it:  nc 127.0.0.1 9000
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A running echo server. */
export interface EchoServer {
  /** Where it listens; with port 0 the kernel picked the port. */
  readonly addr: Deno.NetAddr;
  /** Stops accepting, closes every connection, and waits for the loop to end. */
  close(): Promise<void>;
}

/**
 * Backpressure. When a client's unsent output passes HIGH_WATER we stop
 * reading from it: it is not reading its echoes, so reading more would only
 * grow our buffer without bound. Once the output drains below LOW_WATER we
 * read again. (Two marks, not one, so we do not flap on every write.)
 */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/**
 * Read buffers adapt to the traffic: an idle connection holds a small one
 * (10 000 idle clients × 64 KiB would be 640 MB), a busy one grows it so a
 * bulk transfer needs few reads. Same idea as Netty's adaptive allocator.
 */
const MIN_READ = 512;
const MAX_READ = 64 * 1024;

/** How many free buffers of each size the pool keeps. */
const POOL_LIMIT = 256;

/**
 * Read buffers are recycled. At gigabytes per second, allocating (and
 * zeroing) a fresh 64 KiB buffer for every read costs more than the echo
 * itself. A buffer goes back to the pool once its bytes are written back.
 * Sizes are powers of two with one free list each, capped so that a server
 * that was busy once does not hold that memory for ever.
 */
class BufferPool {
  #free = new Map<number, Uint8Array[]>();

  take(size: number): Uint8Array {
    return this.#free.get(size)?.pop() ?? new Uint8Array(size);
  }

  give(buffer: Uint8Array): void {
    let list = this.#free.get(buffer.length);
    if (!list) this.#free.set(buffer.length, list = []);
    if (list.length < POOL_LIMIT) list.push(buffer);
  }
}

/** Bytes waiting to be written back, and the pooled buffer they live in. */
interface Pending {
  buffer: Uint8Array;
  unsent: Uint8Array;
}

/** One client's state. Owned by the loop; nothing else reads or writes it. */
interface Client {
  conn: Deno.TcpConn;
  /** Bytes read but not yet written back, oldest first. */
  output: Pending[];
  outputBytes: number;
  /** Is a read / a write in flight? At most one of each per client. */
  reading: boolean;
  writing: boolean;
  /** The client sent EOF: finish writing, then close. */
  inputDone: boolean;
  closed: boolean;
  nextReadSize: number;
}

/** Everything that can complete. Each event names the client it belongs to. */
type Event =
  | { kind: "accepted"; conn: Deno.TcpConn }
  | { kind: "acceptFailed"; error: unknown }
  | { kind: "read"; client: Client; buffer: Uint8Array; n: number | null }
  | { kind: "wrote"; client: Client; n: number }
  | { kind: "failed"; client: Client; error: unknown }
  | { kind: "stop" };

/**
 * The completion queue. post() is called from promise callbacks; wait()
 * hands the loop every event posted since it last asked, in order — like
 * epoll_wait() returning a batch of ready fds. Both are O(1) per event,
 * unlike Promise.race() over all connections, which is O(connections).
 */
class CompletionQueue {
  #pending: Event[] = [];
  #wake: (() => void) | undefined;

  post(event: Event): void {
    this.#pending.push(event);
    this.#wake?.();
    this.#wake = undefined;
  }

  async wait(): Promise<Event[]> {
    if (this.#pending.length === 0) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const batch = this.#pending;
    this.#pending = [];
    return batch;
  }
}

/**
 * Starts listening and runs the event loop.
 *
 * @example
 * ```ts ignore
 * const server = startServer({ port: 0 });
 * console.log(server.addr.port);
 * await server.close();
 * ```
 */
export function startServer(
  { hostname = "127.0.0.1", port = 9000 }: {
    hostname?: string;
    port?: number;
  } = {},
): EchoServer {
  const listener = Deno.listen({ hostname, port, transport: "tcp" });
  const queue = new CompletionQueue();
  const clients = new Set<Client>();
  const pool = new BufferPool();

  // --- Starting operations. Each posts exactly one event when it completes.

  const startAccept = () => {
    listener.accept().then(
      (conn) => {
        queue.post({ kind: "accepted", conn });
        // Accept the next one at once rather than on the loop's next turn:
        // under load a turn handles hundreds of events, and a backlog of
        // new clients drained one per turn would wait seconds. This is the
        // C version's accept-until-EAGAIN. Accepting touches no client
        // state, so it is safe outside the loop.
        startAccept();
      },
      (error) => queue.post({ kind: "acceptFailed", error }),
    );
  };

  const startRead = (client: Client) => {
    client.reading = true;
    // A buffer of its own for each read: the bytes read become the client's
    // output and wait there until written, while the next read goes on.
    const buffer = pool.take(client.nextReadSize);
    client.conn.read(buffer).then(
      (n) => queue.post({ kind: "read", client, buffer, n }),
      (error) => queue.post({ kind: "failed", client, error }),
    );
  };

  const startWrite = (client: Client) => {
    client.writing = true;
    client.conn.write(client.output[0].unsent).then(
      (n) => queue.post({ kind: "wrote", client, n }),
      (error) => queue.post({ kind: "failed", client, error }),
    );
  };

  const close = (client: Client) => {
    if (client.closed) return;
    client.closed = true;
    clients.delete(client);
    try {
      client.conn.close(); // pending operations now fail; their events are ignored
    } catch {
      // Already closed.
    }
  };

  // --- Handling completions. Plain functions: no await anywhere below.

  /** How long accepting waits after running out of descriptors; 0 while it is not. */
  let acceptPauseMs = 0;
  let acceptTimer: ReturnType<typeof setTimeout> | undefined;

  const onAcceptFailed = (error: unknown) => {
    // The listener was closed: we are shutting down.
    if (
      error instanceof Deno.errors.BadResource ||
      error instanceof Deno.errors.Interrupted
    ) return;
    // ECONNABORTED (Deno: NotConnected): a client connected and reset
    // before we picked it up. Its fault, not ours: accept the next one.
    if (
      error instanceof Deno.errors.NotConnected ||
      error instanceof Deno.errors.ConnectionAborted
    ) return startAccept();
    if (!isOutOfDescriptors(error)) throw error;
    // EMFILE: we are out of file descriptors. Accepting again at once
    // would fail at once, and the loop would spin on it. Try again later,
    // a little later each time; the loop serves the clients it has
    // meanwhile, and new ones wait in the kernel's accept queue.
    if (acceptPauseMs === 0) {
      console.error(`echo: cannot accept, out of file descriptors: ${error.message}`);
      acceptPauseMs = MIN_ACCEPT_PAUSE_MS;
    } else {
      acceptPauseMs = Math.min(acceptPauseMs * 2, MAX_ACCEPT_PAUSE_MS);
    }
    acceptTimer = setTimeout(startAccept, acceptPauseMs);
  };

  const onRead = (client: Client, buffer: Uint8Array, n: number | null) => {
    client.reading = false;
    if (n === null) {
      // EOF: the client has sent everything. Close once the echo is out.
      pool.give(buffer);
      client.inputDone = true;
      if (!client.writing) close(client);
      return;
    }
    client.output.push({ buffer, unsent: buffer.subarray(0, n) });
    client.outputBytes += n;
    // A full buffer means more is waiting: read bigger next time. A mostly
    // empty one means the client is quiet: give memory back.
    if (n === buffer.length) client.nextReadSize = Math.min(n * 2, MAX_READ);
    else if (n < buffer.length / 2) {
      client.nextReadSize = Math.max(buffer.length / 2, MIN_READ);
    }
    if (!client.writing) startWrite(client);
    if (client.outputBytes < HIGH_WATER) startRead(client);
    // Else: backpressure. We read again when the output drains (onWrote).
  };

  const onWrote = (client: Client, n: number) => {
    client.writing = false;
    client.outputBytes -= n;
    // A partial write: keep the unsent tail at the head of the queue.
    const head = client.output[0];
    if (n < head.unsent.length) head.unsent = head.unsent.subarray(n);
    else pool.give(client.output.shift()!.buffer);

    if (client.output.length > 0) startWrite(client);
    else if (client.inputDone) return close(client);
    if (
      !client.reading && !client.inputDone && client.outputBytes <= LOW_WATER
    ) {
      startRead(client);
    }
  };

  // --- The loop.

  const loop = async () => {
    startAccept();
    while (true) {
      for (const event of await queue.wait()) {
        switch (event.kind) {
          case "stop":
            clearTimeout(acceptTimer);
            for (const client of clients) close(client);
            return;
          case "accepted": {
            acceptPauseMs = 0;
            // Nagle + delayed ACK would stall small echoes ~40 ms: turn it off.
            event.conn.setNoDelay(true);
            const client: Client = {
              conn: event.conn,
              output: [],
              outputBytes: 0,
              reading: false,
              writing: false,
              inputDone: false,
              closed: false,
              nextReadSize: MIN_READ,
            };
            clients.add(client);
            startRead(client);
            break;
          }
          case "acceptFailed":
            onAcceptFailed(event.error);
            break;
          case "read":
            if (!event.client.closed) {
              onRead(event.client, event.buffer, event.n);
            }
            break;
          case "wrote":
            if (!event.client.closed) onWrote(event.client, event.n);
            break;
          case "failed":
            // A reset or broken pipe ends this client only.
            if (!event.client.closed && !isDisconnect(event.error)) {
              console.error("echo: connection failed:", event.error);
            }
            close(event.client);
            break;
        }
      }
    }
  };
  const running = loop();

  return {
    addr: listener.addr,
    async close() {
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      queue.post({ kind: "stop" });
      await running;
    },
  };
}

/**
 * How long to wait after accept() first runs out of file descriptors, and
 * the longest wait: the pause doubles from one to the other while the
 * shortage lasts, so the server notices soon when descriptors free up.
 */
const MIN_ACCEPT_PAUSE_MS = 5;
const MAX_ACCEPT_PAUSE_MS = 500;

/** EMFILE: this process has every descriptor it may open; ENFILE: the whole system has. */
function isOutOfDescriptors(error: unknown): error is Error {
  const code = (error as { code?: unknown } | undefined)?.code;
  return error instanceof Error && (code === "EMFILE" || code === "ENFILE");
}

function isDisconnect(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "9000" },
      host: { type: "string", default: "127.0.0.1" },
    },
  });
  const port = Number(values.port);
  try {
    const server = startServer({ hostname: values.host, port });
    console.log(
      `event-loop echo server listening on ${server.addr.hostname}:${server.addr.port}`,
    );
    // Ctrl-C: stop accepting, close every connection, then exit. Asking for
    // the signal at start matters too: Deno sets its signal handling up the
    // first time anything asks (Deno itself does, soon after start), and
    // that takes a file descriptor. Out of descriptors by then, the server
    // would die (Deno 2.9 panics) instead of backing off.
    Deno.addSignalListener("SIGINT", async () => {
      await server.close();
      Deno.exit(130);
    });
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      console.error(
        `Port ${port} is already in use: stop the other server or pass --port`,
      );
      Deno.exit(1);
    }
    throw error;
  }
}
