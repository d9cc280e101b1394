/**
 * Kata 2 — event-driven echo server: one loop owns every connection.
 *
 * Goal: the same echo as Kata 1, but with no task per connection. Start
 * reads, writes and accepts; let each completion post an event to one
 * queue; let one loop drain that queue and own every client's state.
 * A client that stops reading must not stall anybody else.
 *
 * Run it:   deno run --allow-net <this file> --port 9000
 * Check it: deno task kata:2 check --file <this file>
 *
 * @module
 */

import { parseArgs } from "node:util";

/** A running echo server. */
export interface EchoServer {
  readonly addr: Deno.NetAddr;
  close(): Promise<void>;
}

/** One client's state, owned by the loop. */
interface Client {
  conn: Deno.TcpConn;
  // TODO: an output buffer for bytes read but not yet written back,
  //       and flags: is a read in flight? a write? has the client sent EOF?
}

type Event =
  | { kind: "accepted"; conn: Deno.TcpConn }
  | { kind: "stop" };
// TODO: events for a finished read, a finished write, and a failure.

/** The completion queue: post() from callbacks, wait() in the loop. */
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

/** Starts listening and runs the event loop. */
export function startServer(
  { hostname = "127.0.0.1", port = 9000 }: {
    hostname?: string;
    port?: number;
  } = {},
): EchoServer {
  const listener = Deno.listen({ hostname, port });
  const queue = new CompletionQueue();
  const clients = new Set<Client>();

  const startAccept = () => {
    listener.accept().then(
      (conn) => queue.post({ kind: "accepted", conn }),
      // TODO: a closed listener is not the only reason accept fails. Skip a
      //       client that reset before you accepted it (NotConnected); when
      //       out of file descriptors (error.code "EMFILE"), try again after
      //       a pause instead of at once.
      () => {/* the listener was closed */},
    );
  };

  // TODO: startRead(client) and startWrite(client): start the operation,
  //       post an event when it completes. Never await inside the loop.

  const loop = async () => {
    startAccept();
    while (true) {
      for (const event of await queue.wait()) {
        switch (event.kind) {
          case "stop":
            for (const client of clients) client.conn.close();
            return;
          case "accepted":
            // TODO: create the client's state and start its first read.
            event.conn.close();
            startAccept();
            break;
            // TODO: on read: queue the bytes, start a write if none is in
            //       flight, and stop reading above a high-water mark.
            // TODO: on write: drop what was written (it may be partial!),
            //       write the rest, resume reading below the low-water mark.
            // TODO: on EOF: close once the output is empty.
        }
      }
    }
  };
  const running = loop();

  return {
    addr: listener.addr as Deno.NetAddr,
    async close() {
      listener.close();
      queue.post({ kind: "stop" });
      await running;
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "9000" },
      host: { type: "string", default: "127.0.0.1" },
    },
  });
  const server = startServer({
    hostname: values.host,
    port: Number(values.port),
  });
  console.log(`listening on ${server.addr.hostname}:${server.addr.port}`);
}
