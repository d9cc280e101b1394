/**
 * The six katas: what the practice loop, the checker and the status board
 * need to know about each. Cards are in each folder's KATA.md.
 *
 * @module
 */

import type { RunClient } from "../lib/check/client.ts";
import type { CaptureContext } from "../lib/stages/capture.ts";
import type { ExperimentContext } from "../lib/stages/experiment.ts";
import type { ClientContext } from "../lib/stages/http_client.ts";
import type { Stage } from "../lib/check/stage.ts";
import type { StartServer } from "../lib/check/target.ts";
import type { PracticeKata } from "../lib/practice/kata.ts";

/** A server kata whose checker, reference and starter exist. */
export interface ServerKata extends PracticeKata {
  built: true;
  kind: "server";
  /** Port `deno task kata:N run` listens on. */
  defaultPort: number;
  loadStages(): Promise<readonly Stage[]>;
  loadReference(): Promise<StartServer>;
  /** File name of the C reference in the kata's folder, if there is one. */
  referenceC?: string;
}

/** A client kata: graded by running it against the kit's fixture server. */
export interface ClientKata extends PracticeKata {
  built: true;
  kind: "client";
  loadStages(): Promise<readonly Stage<ClientContext>[]>;
  loadReference(): Promise<RunClient>;
}

/** A capture kata: graded on a capture file, practised by labelling packets. */
export interface CaptureKata extends PracticeKata {
  built: true;
  kind: "capture";
  loadStages(): Promise<readonly Stage<CaptureContext>[]>;
}

/** An experiment kata: the kit runs it; the learner predicts and explains. */
export interface ExperimentKata extends PracticeKata {
  built: true;
  kind: "experiment";
  loadStages(): Promise<readonly Stage<ExperimentContext>[]>;
}

export type BuiltKata = ServerKata | ClientKata | CaptureKata | ExperimentKata;

/** A kata whose card exists but whose tooling is still to come. */
export interface PlannedKata extends PracticeKata {
  built: false;
}

export type Kata = BuiltKata | PlannedKata;

const threePassesInARow = {
  text: "3 passing attempts in a row, each within the time limit",
  passesInARow: 3,
};

export const KATAS: readonly Kata[] = [
  {
    number: 1,
    slug: "01-echo-threaded",
    title: "Concurrent echo server (one worker per connection)",
    timeLimitMinutes: 30,
    repeatUntil: threePassesInARow,
    built: true,
    kind: "server",
    defaultPort: 9000,
    loadStages: async () => (await import("./01-echo-threaded/check.ts")).stages,
    loadReference: async () => (await import("./01-echo-threaded/reference.ts")).startServer,
    referenceC: "reference.c",
  },
  {
    number: 2,
    slug: "02-echo-event-loop",
    title: "Event-driven echo server",
    timeLimitMinutes: 45,
    repeatUntil: threePassesInARow,
    built: true,
    kind: "server",
    defaultPort: 9000,
    loadStages: async () => (await import("./02-echo-event-loop/check.ts")).stages,
    loadReference: async () => (await import("./02-echo-event-loop/reference.ts")).startServer,
    referenceC: "reference.c",
  },
  {
    number: 3,
    slug: "03-http-client",
    title: "Minimal HTTP/1.1 client",
    timeLimitMinutes: 30,
    repeatUntil: threePassesInARow,
    built: true,
    kind: "client",
    loadStages: async () => (await import("./03-http-client/check.ts")).stages,
    loadReference: async () => (await import("./03-http-client/reference.ts")).run,
  },
  {
    number: 4,
    slug: "04-http-server",
    title: "Minimal HTTP/1.1 server",
    timeLimitMinutes: 45,
    repeatUntil: threePassesInARow,
    built: true,
    kind: "server",
    defaultPort: 8080,
    loadStages: async () => (await import("./04-http-server/check.ts")).stages,
    loadReference: async () => (await import("./04-http-server/reference.ts")).startServer,
  },
  {
    number: 5,
    slug: "05-tcp-handshake",
    title: "Capture and annotate a TCP handshake",
    timeLimitMinutes: 20,
    repeatUntil: {
      text: "3 runs in a row, capture and every label right, each under two minutes",
      passesInARow: 3,
      withinMinutes: 2,
    },
    built: true,
    kind: "capture",
    loadStages: async () => (await import("./05-tcp-handshake/check.ts")).stages,
  },
  {
    number: 6,
    slug: "06-tcp-vs-udp",
    title: "TCP vs UDP under packet loss",
    timeLimitMinutes: 60,
    repeatUntil: {
      text: "3 sessions in a row with predictions, a sound sweep and a one-paragraph explanation",
      passesInARow: 3,
    },
    built: true,
    kind: "experiment",
    loadStages: async () => (await import("./06-tcp-vs-udp/check.ts")).stages,
  },
];

/** The kata numbered `number`, or undefined. */
export function findKata(number: number): Kata | undefined {
  return KATAS.find((kata) => kata.number === number);
}

/** The folder holding a kata's card, reference and starter. */
export function kataDirectory(kata: Kata): URL {
  return new URL(`./${kata.slug}/`, import.meta.url);
}
