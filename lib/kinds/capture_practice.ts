/**
 * The practice session of the capture kata: make a capture (or let the kit
 * make one), then annotate its whole conversation from memory. The three
 * handshake packets are shown without their flags and numbers: the learner
 * says who sends each, its flags, and its relative and raw seq/ack (the
 * SYN-ACK acknowledges ISN + 1). The rest are labelled as tcpdump shows
 * them. The kit grades every answer against its own decoding.
 *
 * The record says who made the capture: the kata's two-minute capture
 * counts only when the learner ran the commands; a kit-made capture is
 * labelling practice.
 *
 * @module
 */

import type { AnnotatedPacket, PacketLabel } from "../pcap/annotate.ts";
import {
  type Conversation,
  describeConversation,
  gradedConversation,
  isWhole,
  sideOf,
  splitConversations,
} from "../pcap/conversation_split.ts";
import { flagLetters } from "../pcap/table.ts";
import { askUntil } from "../practice/ask.ts";
import { formatClock } from "../practice/clock.ts";
import { appendAttempt, type AttemptRecord } from "../practice/history.ts";
import type { PracticeKata } from "../practice/kata.ts";
import type { LogPaths } from "../practice/logs.ts";
import { MISTAKE_PROMPT } from "../practice/mistake_prompt.ts";
import { logMistake } from "../practice/mistakes.ts";
import { printCard } from "../practice/session.ts";
import { whatHappened } from "../stages/capture.ts";

/** What a labelling session needs. */
export interface LabelSessionOptions {
  kata: PracticeKata;
  card: string;
  logs: LogPaths;
  /** Makes a capture with the kit and returns its path. */
  capture(): Promise<string>;
  /** Reads and annotates a capture; `error` says why reading stopped early. */
  annotate(
    path: string,
  ): Promise<{ packets: AnnotatedPacket[]; error?: string }>;
  /** The commands a learner types to make the capture by hand. */
  commands: string[];
}

/**
 * What a capture kata's attempt record adds to the common fields
 * (`logs/attempts.jsonl`).
 */
export interface CaptureAttempt {
  /** Who made the capture: the learner, with the card's commands, or the kit. */
  capture: "learner" | "kit";
  /** From the session's start to the learner's capture handed over (learner's captures only). */
  captureMs?: number;
  /**
   * Whether the attempt counts towards the kata's core, the seed's "captured
   * and every packet labelled without reference": only with the learner's
   * own capture (the kit's is labelling practice). It is met when such an
   * attempt passes: whole, and every answer right.
   */
  core: boolean;
}

/** The record of one session of a capture kata. */
export type CaptureAttemptRecord = AttemptRecord & CaptureAttempt;

const LABELS: PacketLabel[] = ["SYN", "SYN-ACK", "ACK", "DATA", "FIN", "RST"];

/** Accepts the usual spellings: "syn ack", "SYN/ACK", "fin,ack" for a FIN… */
export function normalizeLabel(answer: string): PacketLabel | undefined {
  const text = answer.trim().toUpperCase().replace(/[\s/,+_]+/g, "-");
  if (text === "SYNACK" || text === "SYN-ACK") return "SYN-ACK";
  if (text === "FIN-ACK" || text === "FIN") return "FIN";
  if (["DATA", "PSH", "PSH-ACK", "PUSH"].includes(text)) return "DATA";
  return LABELS.find((label) => label === text);
}

const FLAG_NAMES = ["SYN", "FIN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "AE"];
const FLAG_LETTERS: Record<string, string> = {
  S: "SYN",
  F: "FIN",
  R: "RST",
  P: "PSH",
  ".": "ACK",
  U: "URG",
  E: "ECE",
  W: "CWR",
  e: "AE",
};

/**
 * A set of TCP flags, sorted, from the names in any order ("syn ack",
 * "ACK,SYN", "syn-ack", "PUSH") or tcpdump's letters ("S.", "[S.]");
 * undefined when the answer is neither.
 *
 * @example
 * ```ts
 * import { normalizeFlags } from "./capture_practice.ts";
 * normalizeFlags("syn, ack"); // ["ACK", "SYN"]
 * ```
 */
export function normalizeFlags(answer: string): string[] | undefined {
  const text = answer.trim();
  const letters = /^\[?([SFRPUEWe.]+)\]?$/.exec(text);
  const names = text.toUpperCase().split(/[^A-Z]+/).filter(Boolean)
    .map((name) => name === "PUSH" ? "PSH" : name);
  let flags: string[];
  if (names.length > 0 && names.every((name) => FLAG_NAMES.includes(name))) flags = names;
  else if (letters) flags = [...letters[1]].map((letter) => FLAG_LETTERS[letter]);
  else return undefined;
  return [...new Set(flags)].sort();
}

/** One answer that was wrong: the field asked, what was said, what it is, and why. */
interface WrongAnswer {
  field: string;
  said: string;
  is: string;
  why: string;
}

/** One question about a handshake packet: its field, what the kit expects, and how an answer is read. */
interface Question {
  /** As asked: "seq, raw", "ack, relative (- if the ACK flag is off)". */
  field: string;
  /** The answer, as the summary shows it. */
  expected: string;
  /** A reply the question can grade (a number, a side, flag names). */
  readable(reply: string): boolean;
  /** What to say when it cannot. */
  retry: string;
  right(reply: string): boolean;
}

/** A number (or "-" for a packet without the ACK flag, whose ack field means nothing). */
function numberQuestion(field: string, value: number | undefined, withoutAck: boolean): Question {
  const expected = withoutAck ? "-" : String(value);
  return {
    field,
    expected,
    readable: (reply) => /^(\d+|-|none)$/i.test(reply),
    retry: "A number, or - for none, please.",
    right: (reply) => withoutAck ? /^(-|none|0)$/i.test(reply) : reply === expected,
  };
}

/** What is asked of each handshake packet: who sends it, its flags, its relative and raw seq and ack. */
function handshakeQuestions(conversation: Conversation, packet: AnnotatedPacket): Question[] {
  const side = sideOf(conversation, packet);
  const flags = [...packet.flags].sort().join(" ");
  const noAck = !packet.flags.includes("ACK");
  return [
    {
      field: "sent by (client or server)",
      expected: side,
      readable: (reply) => /^(client|server)$/i.test(reply),
      retry: "client or server, please.",
      right: (reply) => reply.toLowerCase() === side,
    },
    {
      field: "flags",
      expected: flags,
      readable: (reply) => normalizeFlags(reply) !== undefined,
      retry: "Flag names, e.g. SYN ACK, please.",
      right: (reply) => normalizeFlags(reply)!.join(" ") === flags,
    },
    numberQuestion("seq, relative", packet.relativeSeq, false),
    numberQuestion("seq, raw", packet.seq, false),
    numberQuestion("ack, relative (- if the ACK flag is off)", packet.relativeAck, noAck),
    numberQuestion("ack, raw (- if the ACK flag is off)", packet.ack, noAck),
  ];
}

/**
 * Asks who sent each handshake packet, its flags and its relative and raw
 * seq/ack; returns the wrong answers and how many were asked, undefined on Ctrl-D.
 */
function askHandshake(
  conversation: Conversation,
  handshake: readonly AnnotatedPacket[],
): { asked: number; wrong: WrongAnswer[] } | undefined {
  const wrong: WrongAnswer[] = [];
  let asked = 0;
  for (const packet of handshake) {
    console.log(`\n#${packet.number}  ${packet.src} → ${packet.dst}  len ${packet.length}`);
    for (const question of handshakeQuestions(conversation, packet)) {
      const said = askUntil(
        `#${packet.number} ${question.field}:`,
        (reply) => question.readable(reply) ? reply : undefined,
        question.retry,
      );
      if (said === undefined) return undefined;
      asked++;
      if (!question.right(said)) {
        const field = `#${packet.number} ${question.field.replace(/ \(.*\)$/, "")}`;
        wrong.push({ field, said, is: question.expected, why: packet.meaning });
      }
    }
  }
  return { asked, wrong };
}

/** Asks the label of each packet as tcpdump shows it; undefined on Ctrl-D. */
function askLabels(packets: readonly AnnotatedPacket[]): WrongAnswer[] | undefined {
  const wrong: WrongAnswer[] = [];
  if (packets.length === 0) return wrong;
  console.log(`\nThe rest of the conversation, as tcpdump shows it: label each packet ${LABELS.join(", ")}.`);
  for (const packet of packets) {
    const line = `#${packet.number} ${packet.src} → ${packet.dst} ${
      flagLetters(packet.flags)
    } seq ${packet.relativeSeq} ack ${packet.relativeAck} len ${packet.length} · label:`;
    const label = askUntil(line, normalizeLabel, `One of ${LABELS.join(", ")}, please.`);
    if (label === undefined) return undefined;
    if (label !== packet.label) {
      wrong.push({ field: `#${packet.number} label`, said: label, is: packet.label, why: packet.meaning });
    }
  }
  return wrong;
}

/** The capture to label: the learner's (asked again while the path is wrong) or the kit's. */
async function chooseCapture(
  options: LabelSessionOptions,
  started: number,
): Promise<{ packets: AnnotatedPacket[]; madeBy: "learner" | "kit"; captureMs?: number } | undefined> {
  while (true) {
    const answer = prompt("\nPath of your capture (Enter: let the kit make one):");
    if (answer === null) return undefined;
    const path = answer.trim();
    const captureMs = Date.now() - started;
    if (path === "") console.log("Capturing…");
    const { packets, error } = await options.annotate(path === "" ? await options.capture() : path);
    if (error && packets.length === 0 && path !== "") {
      console.log(`${error}.`);
      continue;
    }
    if (error) console.log(`Note: ${error}`);
    return path === "" ? { packets, madeBy: "kit" } : { packets, madeBy: "learner", captureMs };
  }
}

/** Runs the session; without a terminal it prints the card and the commands. */
export async function labelSession(
  options: LabelSessionOptions,
): Promise<void> {
  await printCard(options);
  console.log("Make the capture yourself:");
  for (const command of options.commands) console.log(`  ${command}`);
  if (!Deno.stdin.isTerminal()) {
    console.log("\nNo terminal here, so no timed session. To grade a capture:");
    console.log(
      `  deno task kata:${options.kata.number} check --file handshake.pcap`,
    );
    return;
  }
  const started = Date.now();
  const chosen = await chooseCapture(options, started);
  if (!chosen) return;
  const conversations = splitConversations(chosen.packets);
  const whole = gradedConversation(conversations);
  let failedStages: string[];
  if (!whole || !isWhole(whole)) {
    if (chosen.madeBy === "kit") {
      console.log("The kit's capture holds no whole conversation: please report this as a netkata bug.");
      return;
    }
    console.log(refusal(conversations));
    failedStages = ["a whole conversation in the capture"];
  } else {
    const wrong = quiz(whole, conversations);
    if (!wrong) return; // Ctrl-D: stop without recording
    failedStages = wrong.map((answer) => answer.field);
  }
  const record: CaptureAttemptRecord = {
    kata: options.kata.number,
    started: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    result: failedStages.length === 0 ? "pass" : "fail",
    failedStages,
    capture: chosen.madeBy,
    // What the two-minute criterion times: making the capture, not labelling it.
    ...(chosen.captureMs === undefined ? {} : { captureMs: chosen.captureMs, timedMs: chosen.captureMs }),
    core: chosen.madeBy === "learner",
  };
  console.log(captureTime(options.kata, record));
  await appendAttempt(options.logs.history, record);
  await logOneMistake(options);
}

/** Why a capture with no whole conversation cannot be labelled, and what happened to each conversation. */
function refusal(conversations: readonly Conversation[]): string {
  const lines = ["\nThat capture holds no whole conversation (SYN to last ACK), so there is nothing to label:"];
  for (const conversation of conversations) {
    lines.push(`  ${describeConversation(conversation)}`);
    const happened = whatHappened(conversation);
    if (happened) lines.push(`    ${happened}`);
  }
  if (conversations.length === 0) lines.push("  it holds no TCP packet.");
  return lines.join("\n");
}

/** Asks about the whole conversation and prints the verdict; the wrong answers, undefined on Ctrl-D. */
function quiz(whole: Conversation, conversations: readonly Conversation[]): WrongAnswer[] | undefined {
  for (const other of conversations.filter((conversation) => conversation !== whole)) {
    console.log(`not labelled: ${describeConversation(other)}`);
  }
  const synAck = whole.packets.find((packet) => packet.label === "SYN-ACK")!;
  // The SYN the SYN-ACK answers (the last one sent before it, if it was retransmitted).
  const syns = whole.packets.filter((packet) => packet.label === "SYN");
  const syn = syns.filter((packet) => packet.number < synAck.number).at(-1) ?? syns[0];
  const ack = whole.packets.find((packet) => packet.meaning.includes("handshake is complete"))!;
  const handshake = [syn, synAck, ack];
  console.log(`\nLabelling ${describeConversation(whole)}.`);
  console.log(
    `Initial sequence numbers: ${syn.src} chose ${syn.seq}, ${synAck.src} chose ${synAck.seq}.`,
  );
  console.log(
    "For the handshake, flags and numbers are hidden: say who sends each packet, its flags, its seq and ack.",
  );
  const answers = askHandshake(whole, handshake);
  if (!answers) return undefined;
  const labels = askLabels(whole.packets.filter((packet) => !handshake.includes(packet)));
  if (!labels) return undefined;
  const wrong = [...answers.wrong, ...labels];
  const asked = answers.asked + whole.packets.length - handshake.length;
  console.log(
    wrong.length === 0
      ? `\nEvery answer right (${asked}).`
      : `\n${wrong.length} of ${asked} answers wrong:\n  ${
        wrong.map((w) => `${w.field}: you said ${w.said}, it is ${w.is} — ${w.why}`).join("\n  ")
      }`,
  );
  return wrong;
}

/** How long the session took and whether its capture counts towards the kata's time. */
function captureTime(kata: PracticeKata, record: CaptureAttemptRecord): string {
  const target = (kata.repeatUntil.withinMinutes ?? kata.timeLimitMinutes) * 60_000;
  const session = `Session: ${formatClock(record.durationMs)}.`;
  if (record.capture === "kit") {
    return `${session} The kit made this capture: labelling practice, not counted towards making the capture within ${
      formatClock(target)
    }.`;
  }
  const within = record.captureMs! <= target ? "within" : "over";
  return `${session} Your capture took ${formatClock(record.captureMs!)} (${within} the ${
    formatClock(target)
  } target).`;
}

async function logOneMistake(options: LabelSessionOptions): Promise<void> {
  const mistake = prompt(MISTAKE_PROMPT.trimEnd())?.trim();
  if (mistake) await logMistake(options.logs, options.kata, mistake);
}
