/**
 * The capture kind (kata 5): check a capture (the kit's or the learner's),
 * make one in a private lab, or practise labelling its packets. A capture
 * is graded like any other implementation: its file is decoded once, and
 * every stage reads the same decoding.
 *
 * @module
 */

import { fixedSubject, type Subject } from "../check/run.ts";
import { captureHandshake } from "../lab/handshake.ts";
import { type AnnotatedFile, annotateFile } from "../pcap/file.ts";
import { formatAnnotated } from "../pcap/table.ts";
import type { LogPaths } from "../practice/logs.ts";
import type { CaptureContext } from "../stages/capture.ts";
import { Transcript } from "../tools/runner.ts";
import { labelSession } from "./capture_practice.ts";
import { chooseTarget, expectNoMore, printCheck } from "./common.ts";
import type { KataEntry, Kind } from "./kind.ts";
import { createUniqueFile } from "../report/unique_file.ts";

/** A capture kata's catalog entry. */
export interface CaptureKata extends KataEntry<"capture", CaptureContext> {
  /** The card's commands, for a learner who captures by hand. */
  byHand: readonly string[];
  /** The conversation the kit captures: the listener's port and the line the client sends. */
  conversation: { port: number; message: string };
}

/** Captures the kata's conversation into a new file under the logs; returns its path. */
async function capture(kata: CaptureKata, logs: LogPaths, json = false): Promise<string> {
  // Claimed before tcpdump opens it: two captures in the same second
  // would otherwise write to the same timestamped file.
  const output = `${await createUniqueFile(await logs.timestamped(kata), ".pcap")}.pcap`;
  const transcript = new Transcript((line) => json || console.log(line));
  await captureHandshake({ output, transcript, ...kata.conversation, onNotice: (notice) => console.error(notice) });
  if (!json) console.log();
  return output;
}

/**
 * The subject for the capture at `path`: decoded once, here, for every
 * stage (and for the table printed after them).
 *
 * @example
 * ```ts ignore
 * import { captureSubject } from "./capture.ts";
 * const subject = await captureSubject("handshake.pcap");
 * ```
 */
export async function captureSubject(path: string): Promise<Subject<CaptureContext>> {
  return fixedSubject(path, { path, file: await annotateFile(path) });
}

function wrongFlag(kata: CaptureKata, flag?: string): string {
  return `Kata ${kata.number} grades a capture: use --reference (the kit makes one) or --file CAPTURE.pcap${
    flag ? `, not --${flag}` : ""
  }`;
}

/** The capture kind. */
export const captureKind: Kind<CaptureKata> = {
  flags: { reference: { type: "boolean" }, file: { type: "string" } },
  wrongFlag,
  help: (kata) => ({
    practice: "practice: capture, then annotate its whole conversation (handshake: side, flags, seq/ack), timed",
    commands:
      `  deno task kata:${kata.number} run                capture a conversation in a private lab and annotate it`,
    targets: `Check targets (exactly one):
  --reference          the kit makes the capture in a private lab (needs root, tcpdump, nc)
  --file CAPTURE       a pcap or pcapng file you made`,
  }),
  practice: async (kata, { rest, card, logs }) => {
    expectNoMore(rest, "practice");
    await labelSession({
      kata,
      card,
      logs,
      capture: () => capture(kata, logs),
      annotate: annotateFile,
      commands: [...kata.byHand],
    });
    return 0;
  },
  run: async (kata, { rest, logs }) => {
    expectNoMore(rest, "run");
    const path = await capture(kata, logs);
    const { packets, error } = await annotateFile(path);
    console.log(`${formatAnnotated(packets)}\n\nSaved to ${path}`);
    if (error) console.error(error);
    return error ? 1 : 0;
  },
  check: async (kata, { flags, rest, logs }) => {
    expectNoMore(rest, "check");
    const json = flags.json ?? false;
    const flag = chooseTarget(flags, ["reference", "file"], "--reference (the kit makes one) or --file CAPTURE.pcap");
    let file: AnnotatedFile | undefined;
    const start = async () => {
      const path = flag === "file" ? flags.file! : await capture(kata, logs, json);
      file = await annotateFile(path);
      return fixedSubject(path, { path, file });
    };
    return await printCheck(kata, start, {
      json,
      extras: () => ({
        json: { packets: file!.packets },
        text: file!.packets.length > 0 ? `\n${formatAnnotated(file!.packets)}` : undefined,
      }),
    });
  },
};
