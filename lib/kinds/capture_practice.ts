/**
 * The practice session of the capture kata: make a capture (or bring one),
 * then label every packet from memory. The kit grades the labels against
 * its own decoding and times the whole run.
 *
 * @module
 */

import type { AnnotatedPacket, PacketLabel } from "../pcap/annotate.ts";
import { flagLetters, formatAnnotated } from "../pcap/table.ts";
import { formatClock } from "../practice/clock.ts";
import { appendAttempt } from "../practice/history.ts";
import type { PracticeKata } from "../practice/kata.ts";
import type { LogPaths } from "../practice/logs.ts";
import { appendMistake } from "../practice/mistakes.ts";
import { printCard } from "../practice/session.ts";

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

const LABELS: PacketLabel[] = ["SYN", "SYN-ACK", "ACK", "DATA", "FIN", "RST"];

/** Accepts the usual spellings: "syn ack", "SYN/ACK", "fin,ack" for a FIN… */
export function normalizeLabel(answer: string): PacketLabel | undefined {
  const text = answer.trim().toUpperCase().replace(/[\s/,+_]+/g, "-");
  if (text === "SYNACK" || text === "SYN-ACK") return "SYN-ACK";
  if (text === "FIN-ACK" || text === "FIN") return "FIN";
  if (["DATA", "PSH", "PSH-ACK", "PUSH"].includes(text)) return "DATA";
  return LABELS.find((label) => label === text);
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
  const answer = prompt("\nPath of your capture (Enter: let the kit make one):")?.trim() ??
    "";
  let path = answer;
  if (path === "") {
    console.log("Capturing…");
    path = await options.capture();
  }
  const { packets, error } = await options.annotate(path);
  if (error) console.log(`Note: ${error}`);
  const tcp = packets.filter((p) => p.protocol === "TCP");
  if (tcp.length === 0) {
    console.log("There is no TCP packet to label in that capture.");
    return;
  }
  console.log(`\n${formatAnnotated(tcp, { meanings: false })}\n`);
  console.log(`Label each packet: ${LABELS.join(", ")}. (tcpdump's letters: S SYN, . ACK, P PSH, F FIN, R RST)`);
  const wrong: string[] = [];
  for (const packet of tcp) {
    let label: PacketLabel | undefined;
    while (!label) {
      const reply = prompt(
        `#${packet.number} ${packet.direction} ${flagLetters(packet.flags)} len ${packet.length}:`,
      );
      if (reply === null) return; // Ctrl-D: stop without recording
      label = normalizeLabel(reply);
      if (!label) console.log(`  One of ${LABELS.join(", ")}, please.`);
    }
    if (label !== packet.label) {
      wrong.push(
        `#${packet.number}: you said ${label}, it is ${packet.label} — ${packet.meaning}`,
      );
    }
  }
  const durationMs = Date.now() - started;
  const passed = wrong.length === 0 && !error;
  const target = (options.kata.repeatUntil.withinMinutes ?? options.kata.timeLimitMinutes) *
    60_000;
  console.log(
    passed
      ? `\nEvery label right, in ${formatClock(durationMs)} (${durationMs <= target ? "within" : "over"} the ${
        formatClock(target)
      } target).`
      : `\n${tcp.length - wrong.length} of ${tcp.length} right, in ${formatClock(durationMs)}:\n  ${
        wrong.join("\n  ")
      }`,
  );
  await appendAttempt(options.logs.history, {
    kata: options.kata.number,
    started: new Date(started).toISOString(),
    durationMs,
    result: passed ? "pass" : "fail",
    failedStages: wrong.map((line) => line.split(" — ")[0]),
  });
  const mistake = prompt("One mistake you made this time (Enter to skip):")
    ?.trim();
  if (mistake) {
    const kata = options.kata;
    await appendMistake(
      options.logs.mistakes(kata),
      `Mistakes · Kata ${kata.number} · ${kata.title}`,
      mistake,
    );
    console.log(`Logged in ${options.logs.mistakes(kata)}.`);
  }
}
