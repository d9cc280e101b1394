/**
 * Kata 6's own measuring tool, a single file on Deno's sockets: what iperf3
 * does for bulk goodput, plus the real-time workload that shows what
 * "better" means for a voice call.
 *
 *   deno run --allow-net --unstable-net probe.ts serve    [--host H] [--port P] [--idle S]
 *   deno run --allow-net --unstable-net probe.ts tcp      --host H [--port P] [--seconds S]
 *   deno run --allow-net --unstable-net probe.ts udp      --host H [--port P] [--seconds S] [--rate 100M]
 *   deno run --allow-net --unstable-net probe.ts realtime --host H --proto tcp|udp [--rate 50] [--deadline 150]
 *   deno run --allow-net --unstable-net probe.ts requests --host H --proto tcp|udp [--size 10000] [--retry 100]
 *   deno run --allow-net --unstable-net probe.ts workloads --host H [--seconds S] (real-time and requests, both protocols at once)
 *   deno run --allow-net --unstable-net probe.ts ping     --host H [--count 50]
 *
 * Retransmissions and the congestion control are not the probe's to see:
 * Deno lets no program read /proc (net/snmp, sys/net) without --allow-all.
 * The kit reads the lab's counters around each run with `nstat`, and sets
 * the congestion control on the lab's route (lib/loss/probe.ts,
 * lib/lab/path.ts).
 * Every client mode prints one JSON object. The server listens on TCP and
 * UDP on the same port (`--port 0`: any free one, printed); with `--idle S`
 * it stops by itself once no client has come for S seconds. One-way latency
 * needs one clock: sender and receiver here run on the same machine (two
 * namespaces share its clock).
 *
 * @module
 */

import { parseArgs } from "node:util";

const DEFAULT_PORT = 5202;
/** UDP datagram size: under a 1500-byte MTU with IP and UDP headers. */
const DATAGRAM_BYTES = 1400;
/** A real-time message: about one 20 ms voice frame. */
const MESSAGE_BYTES = 160;
/** Payload of one UDP response piece: a request/response reply is cut into these. */
const PIECE_BYTES = 1200;
/** A request still not answered after this long counts as failed. */
const TRANSFER_LIMIT_MS = 10_000;

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
const now = () => performance.timeOrigin + performance.now();
const encoder = new TextEncoder();

// ---------------------------------------------------------------- server

/** What the server knows about one UDP session (one client run). */
interface UdpSession {
  received: number;
  bytes: number;
  highestSeq: number;
  reordered: number;
  /** RFC 3550 interarrival jitter, ms. */
  jitter: number;
  lastTransit?: number;
  latencies: number[];
  first?: number;
  last?: number;
}

/** A running probe server. */
export interface ProbeServer {
  /** The port it listens on, TCP and UDP. */
  port: number;
  /** Resolves when the server has stopped (closed, or idle for too long). */
  finished: Promise<void>;
  close(): void;
}

/**
 * Listens on TCP and UDP at `hostname:port` (port 0: any free one). With
 * `idleSeconds`, stops by itself once nothing has arrived for that long: a
 * server started by a tool that then died must not run forever.
 */
export function serve(
  hostname: string,
  port: number,
  idleSeconds?: number,
): ProbeServer {
  const sessions = new Map<number, UdpSession>();
  const listener = Deno.listen({ hostname, port });
  const bound = (listener.addr as Deno.NetAddr).port;
  let datagrams: Deno.DatagramConn;
  try {
    datagrams = Deno.listenDatagram({ hostname, port: bound, transport: "udp" });
  } catch (error) {
    listener.close();
    throw error;
  }
  let lastActivity = now();
  let openConnections = 0;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(idleCheck);
    listener.close();
    datagrams.close();
  };
  const idleCheck = idleSeconds === undefined ? undefined : setInterval(() => {
    if (openConnections > 0) return;
    if (now() - lastActivity > idleSeconds * 1000) {
      console.log(`probe: no client for ${idleSeconds} s, stopping`);
      close();
    }
  }, Math.min(1000, idleSeconds * 250));

  const receiving = (async () => {
    // One buffer for every datagram. `for await (… of datagrams)` allocates
    // a fresh 64 KiB one per datagram: half a gigabyte a second at
    // 100 Mbit/s, garbage that must be collected while datagrams queue up.
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      let data: Uint8Array;
      let remote: Deno.Addr;
      try {
        [data, remote] = await datagrams.receive(buffer);
      } catch (error) {
        if (closed && isClosedError(error)) return;
        throw error;
      }
      lastActivity = now();
      if (isPing(data)) await datagrams.send(data, remote as Deno.NetAddr).catch(() => {});
      else if (startsWith(data, REQUEST)) await answerRequest(datagrams, data, remote as Deno.NetAddr);
      else recordDatagram(sessions, data);
    }
  })();

  const accepting = acceptClients(listener, () => closed, (conn) => {
    lastActivity = now();
    openConnections++;
    handleTcp(conn, sessions)
      .catch(() => {
        // The client went away mid-request: nothing to answer.
      })
      .finally(() => {
        openConnections--;
        lastActivity = now();
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      });
  });

  const finished = Promise.all([receiving, accepting]).then(() => {}, (error) => {
    close();
    throw error;
  });
  console.log(`probe listening on ${hostname}:${bound} (TCP and UDP)`);
  return { port: bound, finished, close };
}

const PING = encoder.encode("PING");
const REQUEST = encoder.encode("RRQ\0");
const RESPONSE = encoder.encode("RRS\0");

function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  return data.length >= prefix.length && prefix.every((byte, i) => data[i] === byte);
}

/**
 * A request over UDP: "RRQ\0", id, size, then the pieces wanted (none: all).
 * Each piece of the answer says which it is, so the client asks again for
 * exactly the ones lost: reliability where the application wants it.
 */
async function answerRequest(datagrams: Deno.DatagramConn, data: Uint8Array, to: Deno.NetAddr): Promise<void> {
  if (data.length < 12) return;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const id = view.getUint32(4);
  const size = Math.min(view.getUint32(8), 1_000_000);
  const count = Math.ceil(size / PIECE_BYTES);
  const wanted = data.length > 12
    ? Array.from({ length: (data.length - 12) >> 1 }, (_, i) => view.getUint16(12 + i * 2))
    : Array.from({ length: count }, (_, i) => i);
  for (const index of wanted.filter((index) => index < count)) {
    const piece = new Uint8Array(12 + Math.min(PIECE_BYTES, size - index * PIECE_BYTES));
    const header = new DataView(piece.buffer);
    piece.set(RESPONSE);
    header.setUint32(4, id);
    header.setUint16(8, index);
    header.setUint16(10, count);
    await datagrams.send(piece, to).catch(() => {});
  }
}

/** A ping is echoed as it is, not counted: its first four bytes say "PING". */
function isPing(data: Uint8Array): boolean {
  return data.length >= 12 && PING.every((byte, i) => data[i] === byte);
}

/** Counts one datagram of a UDP session: sequence, reordering, jitter, latency. */
function recordDatagram(sessions: Map<number, UdpSession>, data: Uint8Array): void {
  if (data.length < 16) return;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const id = view.getUint32(0);
  const seq = view.getUint32(4);
  const sent = view.getFloat64(8);
  const arrived = now();
  let session = sessions.get(id);
  if (!session) {
    session = { received: 0, bytes: 0, highestSeq: -1, reordered: 0, jitter: 0, latencies: [] };
    sessions.set(id, session);
  }
  session.received++;
  session.bytes += data.length;
  session.first ??= arrived;
  session.last = arrived;
  if (seq < session.highestSeq) session.reordered++;
  else session.highestSeq = seq;
  const transit = arrived - sent;
  if (session.lastTransit !== undefined) {
    session.jitter += (Math.abs(transit - session.lastTransit) - session.jitter) / 16;
  }
  session.lastTransit = transit;
  session.latencies.push(transit);
}

/** Accepts until the listener is closed (`closed()` true), handing each connection to `onConnection`. */
async function acceptClients(
  listener: Deno.TcpListener,
  closed: () => boolean,
  onConnection: (conn: Deno.TcpConn) => void,
): Promise<void> {
  while (true) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      // Closed by us: the loop is over.
      if (closed() && isClosedError(error)) return;
      // A client that connected and reset before we picked its
      // connection up makes accept() fail (ECONNABORTED, ENOTCONN). That
      // client is gone; the listener is fine. `for await (… of listener)`
      // would end the whole server here: keep accepting instead.
      if (
        error instanceof Deno.errors.ConnectionAborted ||
        error instanceof Deno.errors.NotConnected ||
        error instanceof Deno.errors.ConnectionReset
      ) continue;
      throw error;
    }
    onConnection(conn);
  }
}

/** What a pending accept() or receive() throws when its socket is closed under it. */
function isClosedError(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted;
}

/** Reads the first line of a TCP connection: the client says what it wants. */
async function handleTcp(
  conn: Deno.TcpConn,
  sessions: Map<number, UdpSession>,
): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(256 * 1024);
  let head: Uint8Array = new Uint8Array(0);
  let newline = -1;
  while (newline === -1) {
    const n = await conn.read(buffer);
    if (n === null) return;
    head = concat(head, buffer.subarray(0, n));
    newline = head.indexOf(10);
  }
  const [command, argument] = new TextDecoder().decode(
    head.subarray(0, newline),
  ).split(" ");
  let rest: Uint8Array = head.subarray(newline + 1);
  if (command === "BULK") {
    // Count everything until the client shuts down its side.
    let bytes = rest.length;
    const started = now();
    for (let n; (n = await conn.read(buffer)) !== null;) bytes += n;
    await writeAll(
      conn,
      encoder.encode(
        JSON.stringify({ bytes, seconds: (now() - started) / 1000 }) + "\n",
      ),
    );
  } else if (command === "RT") {
    // Length-free framing: every message is MESSAGE_BYTES, seq then send time.
    const latencies: number[] = [];
    const take = () => {
      while (rest.length >= MESSAGE_BYTES) {
        const view = new DataView(rest.buffer, rest.byteOffset, MESSAGE_BYTES);
        latencies.push(now() - view.getFloat64(4));
        rest = rest.subarray(MESSAGE_BYTES);
      }
    };
    take();
    for (let n; (n = await conn.read(buffer)) !== null;) {
      rest = concat(rest, buffer.subarray(0, n));
      take();
    }
    await writeAll(conn, encoder.encode(JSON.stringify({ latencies }) + "\n"));
  } else if (command === "GET") {
    // Request/response: the size asked for, then the end of the connection.
    await writeAll(conn, new Uint8Array(Math.min(Number(argument) || 0, 10_000_000)));
  } else if (command === "UDPSTATS") {
    const session = sessions.get(Number(argument));
    sessions.delete(Number(argument));
    await writeAll(
      conn,
      encoder.encode(JSON.stringify(session ?? null) + "\n"),
    );
  }
}

// ---------------------------------------------------------------- clients

async function request(
  hostname: string,
  port: number,
  line: string,
  send?: (conn: Deno.TcpConn) => Promise<void>,
) {
  const conn = await Deno.connect({ hostname, port });
  conn.setNoDelay(true);
  try {
    await writeAll(conn, encoder.encode(line + "\n"));
    await send?.(conn);
    await conn.closeWrite();
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(64 * 1024);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      chunks.push(buffer.slice(0, n));
    }
    return JSON.parse(
      new TextDecoder().decode(chunks.reduce(concat, new Uint8Array(0))),
    );
  } finally {
    conn.close();
  }
}

async function tcpBulk(hostname: string, port: number, seconds: number) {
  const block = new Uint8Array(256 * 1024);
  const report = await request(hostname, port, "BULK", async (conn) => {
    const until = now() + seconds * 1000;
    while (now() < until) await writeAll(conn, block);
  });
  return {
    protocol: "tcp",
    goodput: (report.bytes * 8) / report.seconds,
    bytes: report.bytes,
  };
}

/** Options for {@linkcode udpPaced}. */
export interface UdpPacedOptions {
  hostname: string;
  port: number;
  seconds: number;
  /** Bits per second to offer. */
  rate: number;
  /** How often the sender wakes up to send what is due, in ms. @default {1} */
  tickMs?: number;
}

/**
 * Paced UDP: `rate × seconds` worth of datagrams, each sent when it is due.
 * Pacing matters: a sender that blasts overflows its own socket buffer and
 * measures that instead of the network.
 *
 * A timer never fires on time: a 1 ms tick is often 1.1 ms, and 20 ms on a
 * busy machine. So each wake-up sends every datagram due by *now* (not one
 * per tick), and the run ends when the last datagram is sent, not when the
 * clock says the time is up (that would drop the datagrams due in the last,
 * late tick, and offer less than asked).
 *
 * @example
 * ```ts ignore
 * const report = await udpPaced({ hostname: "198.18.0.2", port: 5202, seconds: 3, rate: 100e6 });
 * console.log(report.goodput); // bits/s that arrived
 * ```
 */
export async function udpPaced(options: UdpPacedOptions) {
  const { hostname, port, seconds, rate, tickMs = 1 } = options;
  const socket = Deno.listenDatagram({
    hostname: "0.0.0.0",
    port: 0,
    transport: "udp",
  });
  const session = Math.floor(Math.random() * 2 ** 32);
  const datagram = new Uint8Array(DATAGRAM_BYTES);
  const view = new DataView(datagram.buffer);
  view.setUint32(0, session);
  const total = Math.round((rate * seconds) / 8 / DATAGRAM_BYTES);
  // Datagram k is due k / perMs milliseconds after the start.
  const perMs = total / (seconds * 1000);
  const started = now();
  let sent = 0;
  try {
    while (sent < total) {
      const due = Math.min(total, Math.floor((now() - started) * perMs) + 1);
      for (; sent < due; sent++) {
        view.setUint32(4, sent);
        view.setFloat64(8, now());
        await socket.send(datagram, { transport: "udp", hostname, port });
      }
      if (sent < total) await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
  } finally {
    socket.close();
  }
  const sendSeconds = (now() - started) / 1000;
  // Late datagrams still in flight: give them a moment, then ask.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const stats = await request(hostname, port, `UDPSTATS ${session}`);
  const received = stats?.received ?? 0;
  return {
    protocol: "udp",
    sent,
    received,
    /** Bits per second offered: the schedule, `sent` over `seconds`. */
    offered: (sent * DATAGRAM_BYTES * 8) / seconds,
    goodput: (received * DATAGRAM_BYTES * 8) / seconds,
    /** How long sending took: above `seconds` when this machine could not keep up. */
    sendSeconds,
    lossPercent: sent ? (100 * (sent - received)) / sent : 0,
    reordered: stats?.reordered ?? 0,
    jitterMs: stats?.jitter ?? 0,
  };
}

/**
 * Round-trip times, as ping measures them but over UDP (ping needs a raw
 * socket, and is not everywhere): `count` small datagrams, one every
 * `intervalMs`, each echoed by the server. A ping not back within a second
 * is lost.
 */
export async function udpPing(hostname: string, port: number, count: number, intervalMs = 23) {
  const socket = Deno.listenDatagram({ hostname: "0.0.0.0", port: 0, transport: "udp" });
  const sentAt = new Map<number, number>();
  const rtts: number[] = [];
  const receiving = (async () => {
    const buffer = new Uint8Array(64);
    while (rtts.length < count) {
      const [data] = await socket.receive(buffer);
      const seq = new DataView(data.buffer, data.byteOffset).getUint32(4);
      const sent = sentAt.get(seq);
      if (sent !== undefined) rtts.push(now() - sent);
      sentAt.delete(seq);
    }
  })().catch(() => {});
  try {
    const datagram = new Uint8Array(12);
    datagram.set(PING);
    for (let seq = 0; seq < count; seq++) {
      new DataView(datagram.buffer).setUint32(4, seq);
      sentAt.set(seq, now());
      await socket.send(datagram, { transport: "udp", hostname, port });
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    await Promise.race([receiving, new Promise((resolve) => setTimeout(resolve, 1000))]);
  } finally {
    socket.close();
  }
  const sorted = rtts.sort((a, b) => a - b);
  return {
    sent: count,
    received: sorted.length,
    minMs: sorted[0] ?? null,
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? null,
    maxMs: sorted.at(-1) ?? null,
  };
}

/**
 * The real-time workload: small timestamped messages at a fixed rate, as a
 * voice call sends them. What matters is not how much arrives but how much
 * arrives in time.
 */
async function realtime(
  hostname: string,
  port: number,
  proto: "tcp" | "udp",
  seconds: number,
  rate: number,
  deadlineMs: number,
) {
  const count = Math.round(seconds * rate);
  const message = new Uint8Array(MESSAGE_BYTES);
  const view = new DataView(message.buffer);
  let latencies: number[];
  const pace = async (send: (seq: number) => Promise<void>) => {
    const started = now();
    for (let seq = 0; seq < count; seq++) {
      const due = started + (seq * 1000) / rate;
      if (due > now()) {
        await new Promise((resolve) => setTimeout(resolve, due - now()));
      }
      await send(seq);
    }
  };
  if (proto === "tcp") {
    const report = await request(
      hostname,
      port,
      "RT",
      (conn) =>
        pace(async (seq) => {
          view.setUint32(0, seq);
          view.setFloat64(4, now());
          await writeAll(conn, message);
        }),
    );
    latencies = report.latencies;
  } else {
    const socket = Deno.listenDatagram({
      hostname: "0.0.0.0",
      port: 0,
      transport: "udp",
    });
    const session = Math.floor(Math.random() * 2 ** 32);
    const datagram = new Uint8Array(MESSAGE_BYTES);
    const dv = new DataView(datagram.buffer);
    dv.setUint32(0, session);
    try {
      await pace(async (seq) => {
        dv.setUint32(4, seq);
        dv.setFloat64(8, now());
        await socket.send(datagram, { transport: "udp", hostname, port });
      });
    } finally {
      socket.close();
    }
    await new Promise((resolve) => setTimeout(resolve, deadlineMs + 100));
    latencies = (await request(hostname, port, `UDPSTATS ${session}`))?.latencies ?? [];
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    protocol: proto,
    sent: count,
    delivered: latencies.length / count,
    onTime: latencies.filter((latency) => latency <= deadlineMs).length / count,
    p99Ms: sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] : null,
    deadlineMs,
  };
}

/** Completion times of request/response transfers: what a user waiting for a page feels. */
function completion(protocol: "tcp" | "udp", times: number[], failed: number, size: number) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] : null;
  return {
    protocol,
    size,
    completed: sorted.length,
    failed,
    medianMs: at(0.5),
    p90Ms: at(0.9),
    maxMs: sorted.at(-1) ?? null,
  };
}

/**
 * Request/response over TCP, as a browser fetches a small file: a new
 * connection per request (the handshake is part of the cost), `size` bytes
 * back, then the next request, until `seconds` are over. Under loss, a lost
 * SYN costs a whole second (TCP's first timeout), a lost last segment an RTO.
 * A request not done within `limitMs` (default 10 s), connect included,
 * counts as failed: a SYN lost again and again waits 1, 2, 4, 8… s.
 */
export async function tcpRequests(
  hostname: string,
  port: number,
  seconds: number,
  size: number,
  options: { limitMs?: number } = {},
) {
  const times: number[] = [];
  let failed = 0;
  const until = now() + seconds * 1000;
  const buffer = new Uint8Array(64 * 1024);
  while (now() < until) {
    const started = now();
    let received = 0;
    let conn: Deno.TcpConn | undefined;
    // One limit from before the connect to the last byte: it abandons a
    // connect still waiting, or closes the connection, whichever is on.
    const limit = new AbortController();
    const timer = setTimeout(() => {
      limit.abort();
      conn?.close();
    }, options.limitMs ?? TRANSFER_LIMIT_MS);
    try {
      conn = await Deno.connect({ hostname, port, signal: limit.signal });
      conn.setNoDelay(true);
      await writeAll(conn, encoder.encode(`GET ${size}\n`));
      for (let n; (n = await conn.read(buffer)) !== null;) received += n;
    } catch (error) {
      // The limit (a connect abandoned, a read cut off by the close), or a
      // reset: this request failed.
      const limited = limit.signal.aborted &&
        (error instanceof DOMException && error.name === "AbortError" || error instanceof Deno.errors.Interrupted ||
          error instanceof Deno.errors.BadResource);
      if (!(limited || error instanceof Deno.errors.ConnectionReset)) throw error;
    } finally {
      clearTimeout(timer);
      try {
        conn?.close();
      } catch {
        // Closed by the time limit already.
      }
    }
    if (received === size) times.push(now() - started);
    else failed++;
  }
  return completion("tcp", times, failed, size);
}

/**
 * Request/response over UDP with reliability of the application's own: ask,
 * and after `retryMs` without the whole answer, ask again for exactly the
 * pieces missing. No handshake, and a timer the application chooses (TCP's
 * first one is a second, its shortest 200 ms): that is where UDP wins.
 */
async function udpRequests(hostname: string, port: number, seconds: number, size: number, retryMs: number) {
  const socket = Deno.listenDatagram({ hostname: "0.0.0.0", port: 0, transport: "udp" });
  const count = Math.ceil(size / PIECE_BYTES);
  let current: { id: number; got: Set<number>; done: () => void } | undefined;
  const receiving = (async () => {
    const buffer = new Uint8Array(2048);
    while (true) {
      const [data] = await socket.receive(buffer);
      if (!startsWith(data, RESPONSE) || data.length < 12 || !current) continue;
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      if (view.getUint32(4) !== current.id) continue;
      current.got.add(view.getUint16(8));
      if (current.got.size === count) current.done();
    }
  })().catch(() => {});
  const times: number[] = [];
  let failed = 0;
  const until = now() + seconds * 1000;
  try {
    while (now() < until) {
      const started = now();
      const got = new Set<number>();
      const complete = new Promise<void>((done) => current = { id: Math.floor(Math.random() * 2 ** 32), got, done });
      let finished = false;
      while (!finished && now() - started < TRANSFER_LIMIT_MS) {
        const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !got.has(i));
        const request = new Uint8Array(12 + (got.size ? missing.length * 2 : 0));
        const view = new DataView(request.buffer);
        request.set(REQUEST);
        view.setUint32(4, current!.id);
        view.setUint32(8, size);
        if (got.size) missing.forEach((index, i) => view.setUint16(12 + i * 2, index));
        await socket.send(request, { transport: "udp", hostname, port });
        let timer: ReturnType<typeof setTimeout> | undefined;
        finished = await Promise.race([
          complete.then(() => true),
          new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), retryMs)),
        ]);
        clearTimeout(timer);
      }
      if (finished) times.push(now() - started);
      else failed++;
    }
  } finally {
    socket.close();
    await receiving;
  }
  return completion("udp", times, failed, size);
}

/** What the workloads mode runs: both workloads over both protocols, at once (they are light). */
export interface WorkloadOptions {
  hostname: string;
  port: number;
  seconds: number;
  /** Real-time messages per second. */
  rate: number;
  deadlineMs: number;
  /** Request/response: bytes per answer. */
  size: number;
  /** Request/response over UDP: ask again after this long. */
  retryMs: number;
}

async function workloads(options: WorkloadOptions) {
  const { hostname, port, seconds, rate, deadlineMs, size, retryMs } = options;
  const [rtTcp, rtUdp, rrTcp, rrUdp] = await Promise.all([
    realtime(hostname, port, "tcp", seconds, rate, deadlineMs),
    realtime(hostname, port, "udp", seconds, rate, deadlineMs),
    tcpRequests(hostname, port, seconds, size),
    udpRequests(hostname, port, seconds, size, retryMs),
  ]);
  return { realtime: { tcp: rtTcp, udp: rtUdp }, requests: { tcp: rrTcp, udp: rrUdp } };
}

// ---------------------------------------------------------------- helpers

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

/** "100M" → 100 000 000 bits/s. */
function parseRate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text);
  if (!match) throw new Error(`Not a rate: ${text} (e.g. 100M)`);
  return Number(match[1]) *
    ({ "": 1, k: 1e3, m: 1e6, g: 1e9 } as Record<string, number>)[
      match[2].toLowerCase()
    ];
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: String(DEFAULT_PORT) },
      seconds: { type: "string", default: "3" },
      rate: { type: "string" },
      proto: { type: "string", default: "udp" },
      deadline: { type: "string", default: "150" },
      idle: { type: "string" },
      count: { type: "string" },
      size: { type: "string" },
      retry: { type: "string" },
    },
  });
  const [mode] = positionals;
  const host = values.host;
  const port = Number(values.port);
  const seconds = Number(values.seconds);
  try {
    if (mode === "serve") {
      const idle = values.idle === undefined ? undefined : Number(values.idle);
      if (idle !== undefined && !(idle > 0)) throw new RangeError(`--idle takes seconds, not "${values.idle}"`);
      await serve(host, port, idle).finished;
    } else if (mode === "tcp") {
      console.log(JSON.stringify(await tcpBulk(host, port, seconds)));
    } else if (mode === "udp") {
      console.log(
        JSON.stringify(
          await udpPaced({ hostname: host, port, seconds, rate: parseRate(values.rate ?? "100M") }),
        ),
      );
    } else if (mode === "requests" || mode === "workloads") {
      const size = Number(values.size ?? 10_000);
      const retryMs = Number(values.retry ?? 100);
      if (!(size > 0 && size <= 1_000_000)) {
        throw new RangeError(`--size takes 1 to 1000000 bytes, not "${values.size}"`);
      }
      if (!(retryMs > 0)) throw new RangeError(`--retry takes milliseconds, not "${values.retry}"`);
      const report = mode === "workloads"
        ? await workloads({
          hostname: host,
          port,
          seconds,
          rate: Number(values.rate ?? 50),
          deadlineMs: Number(values.deadline),
          size,
          retryMs,
        })
        : values.proto === "tcp"
        ? await tcpRequests(host, port, seconds, size)
        : await udpRequests(host, port, seconds, size, retryMs);
      console.log(JSON.stringify(report));
    } else if (mode === "ping") {
      console.log(JSON.stringify(await udpPing(host, port, Number(values.count ?? 50))));
    } else if (mode === "realtime") {
      const proto = values.proto === "tcp" ? "tcp" : "udp";
      console.log(
        JSON.stringify(
          await realtime(
            host,
            port,
            proto,
            seconds,
            Number(values.rate ?? 50),
            Number(values.deadline),
          ),
        ),
      );
    } else {
      console.error(
        "Usage: probe.ts serve|tcp|udp|realtime [--host H] [--port P] … (see the top of the file)",
      );
      Deno.exit(2);
    }
  } catch (error) {
    console.error(`probe: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
