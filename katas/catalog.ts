/**
 * The katas: each one's entry is all the kit needs to know about it — the
 * practice loop, the checker, the status board and the course's self-test
 * (`tests/catalog_test.ts`) all read it from here. A new kata of an existing
 * kind is its folder, one entry below, a `deno.json` task and a README row.
 * Cards are in each folder's KATA.md.
 *
 * @module
 */

import type { CatalogKata } from "../lib/kinds/mod.ts";
import type { CompletionItem } from "../lib/practice/kata.ts";

const threePassesInARow = {
  text: "3 passing attempts in a row, each within the time limit",
  passesInARow: 3,
};

const oneSitting: CompletionItem = {
  text: "Katas 1 and 2 each implemented in one sitting",
  needs: "pass within the limit",
};

/** A kata's folder, next to this file. */
const folder = (slug: string) => new URL(`./${slug}/`, import.meta.url);

export const KATAS: readonly CatalogKata[] = [
  {
    number: 1,
    slug: "01-echo-threaded",
    directory: folder("01-echo-threaded"),
    title: "Concurrent echo server (one worker per connection)",
    timeLimitMinutes: 30,
    repeatUntil: threePassesInARow,
    completion: [oneSitting],
    kind: "server",
    defaultPort: 9000,
    tryIt: "nc {host} {port}",
    loadStages: async () => (await import("./01-echo-threaded/check.ts")).stages,
    loadReference: async () => (await import("./01-echo-threaded/reference.ts")).startServer,
    loadStarter: async () => (await import("./01-echo-threaded/starter.ts")).startServer,
    referenceC: "reference.c",
    syscalls: { reference: "reference_syscalls.ts", starter: "starter_syscalls.ts" },
  },
  {
    number: 2,
    slug: "02-echo-event-loop",
    directory: folder("02-echo-event-loop"),
    title: "Event-driven echo server",
    timeLimitMinutes: 45,
    repeatUntil: threePassesInARow,
    completion: [oneSitting],
    kind: "server",
    defaultPort: 9000,
    tryIt: "nc {host} {port}",
    loadStages: async () => (await import("./02-echo-event-loop/check.ts")).stages,
    loadReference: async () => (await import("./02-echo-event-loop/reference.ts")).startServer,
    loadStarter: async () => (await import("./02-echo-event-loop/starter.ts")).startServer,
    referenceC: "reference.c",
    syscalls: { reference: "reference_syscalls.ts", starter: "starter_syscalls.ts" },
  },
  {
    number: 3,
    slug: "03-http-client",
    directory: folder("03-http-client"),
    title: "Minimal HTTP/1.1 client",
    timeLimitMinutes: 30,
    repeatUntil: threePassesInARow,
    kind: "client",
    fixturePort: 8080,
    loadStages: async () => (await import("./03-http-client/check.ts")).stages,
    loadFixture: async () => (await import("./03-http-client/check.ts")).fixture,
    loadReference: async () => (await import("./03-http-client/reference.ts")).run,
    loadStarter: async () => (await import("./03-http-client/starter.ts")).run,
  },
  {
    number: 4,
    slug: "04-http-server",
    directory: folder("04-http-server"),
    title: "Minimal HTTP/1.1 server",
    timeLimitMinutes: 45,
    repeatUntil: threePassesInARow,
    kind: "server",
    defaultPort: 8080,
    tryIt: "curl -v http://{host}:{port}/",
    loadStages: async () => (await import("./04-http-server/check.ts")).stages,
    loadReference: async () => (await import("./04-http-server/reference.ts")).startServer,
    loadStarter: async () => (await import("./04-http-server/starter.ts")).startServer,
  },
  {
    number: 5,
    slug: "05-tcp-handshake",
    directory: folder("05-tcp-handshake"),
    title: "Capture and annotate a TCP handshake",
    timeLimitMinutes: 20,
    repeatUntil: {
      text: "3 runs in a row with your own capture, made in under two minutes, and every label right",
      passesInARow: 3,
      withinMinutes: 2,
    },
    completion: [{ text: "Kata 5 run and every packet labelled without reference", needs: "pass" }],
    kind: "capture",
    byHand: [
      `sudo tcpdump --immediate-mode -i lo -w handshake.pcap "tcp port 12345"   # terminal 1; wait for "listening on"`,
      `nc -l 127.0.0.1 12345                                                  # terminal 2`,
      `printf 'hello kata\\n' | nc -N 127.0.0.1 12345                          # terminal 3; then Ctrl-C in terminal 1`,
    ],
    conversation: { port: 12345, message: "hello kata\n" },
    loadStages: async () => (await import("./05-tcp-handshake/check.ts")).stages,
  },
  {
    number: 6,
    slug: "06-tcp-vs-udp",
    directory: folder("06-tcp-vs-udp"),
    title: "TCP vs UDP under packet loss",
    timeLimitMinutes: 60,
    repeatUntil: {
      text: "3 sessions in a row with predictions, a sound sweep and a one-paragraph explanation",
      passesInARow: 3,
    },
    completion: [{
      text: "The TCP-vs-UDP trade-off measured in Kata 6 explained in one paragraph",
      needs: "pass",
    }],
    kind: "experiment",
    probe: "probe.ts",
    loadStages: async () => (await import("./06-tcp-vs-udp/check.ts")).stages,
  },
];

/** The kata numbered `number`, or undefined. */
export function findKata(number: number): CatalogKata | undefined {
  return KATAS.find((kata) => kata.number === number);
}
