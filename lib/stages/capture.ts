/**
 * Stages for the capture kata (Kata 5): the capture must be readable and
 * hold one whole TCP conversation, handshake to last ACK; where tshark is
 * installed, its decoding must agree with the kit's. A capture holding
 * several conversations (a refused first try, a second run) is graded on
 * its whole one, and the others are named; a conversation refused or reset
 * is said to be so, rather than blamed on when tcpdump ran.
 *
 * @module
 */

import { type AnnotatedFile } from "../pcap/file.ts";
import { CONVERSATION_STEPS } from "../pcap/annotate.ts";
import {
  type Conversation,
  describeConversation,
  gradedConversation,
  sideOf,
  splitConversations,
} from "../pcap/conversation_split.ts";
import { compareWithTshark } from "../pcap/tshark.ts";
import { ToolError } from "../tools/runner.ts";
import { type Stage, StageFailure, type StageLevel, StageSkipped } from "../check/stage.ts";

/** What a capture stage works with. */
export interface CaptureContext {
  path: string;
  file: AnnotatedFile;
}

const HINT_CAPTURE =
  'Start tcpdump first and wait for “listening on”, capture on the interface the traffic uses (lo for 127.0.0.1), filter on the port ("tcp port 12345"), and stop it with Ctrl-C (SIGINT) only after both nc have exited.';

const HINT_RESET =
  "A program that exits or closes with data still unread, or with SO_LINGER set to 0, resets its connection; nc -N closes with a FIN once its input is sent, and nc -l with a FIN once the client has closed.";

/** The capture's conversations and the one the stages grade (the whole one, else the most nearly whole). */
function conversationsOf(ctx: CaptureContext): { all: Conversation[]; graded?: Conversation } {
  const all = splitConversations(ctx.file.packets);
  return { all, graded: gradedConversation(all) };
}

/** Which conversation is graded and what became of the others; undefined when there is only one. */
function overview(all: readonly Conversation[], graded?: Conversation): string | undefined {
  if (all.length < 2 || !graded) return undefined;
  return [
    `${all.length} conversations, one graded (the whole one, else the most nearly whole):`,
    `graded: ${describeConversation(graded)}`,
    ...all.filter((c) => c !== graded).map((c) => `not graded: ${describeConversation(c)}`),
  ].join("\n");
}

/**
 * What happened to a conversation that did not open or close as it should,
 * in one or two sentences; undefined when nothing went wrong that way.
 *
 * @example
 * ```ts ignore
 * import { whatHappened } from "./capture.ts";
 * const hint = whatHappened(conversation) ?? "The capture started too late";
 * ```
 */
export function whatHappened(conversation: Conversation): string | undefined {
  const port = conversation.server.slice(conversation.server.lastIndexOf(":") + 1);
  const syn = conversation.packets.find((p) => p.label === "SYN");
  const reset = conversation.reset;
  switch (conversation.ending) {
    case "refused":
      return `The SYN (#${syn!.number}) to port ${port} was answered by RST (#${
        reset!.number
      }): the connection was refused, because nothing was listening on that port yet. Start the listener (nc -l) first, then the client.`;
    case "unanswered":
      return `The SYN (#${
        syn!.number
      }) to port ${port} got no answer: nothing answered on that port (a firewall dropped it, or rejected it with ICMP). Check the address and port the listener uses.`;
    case "reset":
      return `The connection was reset: the ${sideOf(conversation, reset!)} sent RST (#${
        reset!.number
      }) instead of a FIN. ${HINT_RESET}`;
  }
}

export const readable: Stage<CaptureContext> = {
  name: "the file is a readable pcap or pcapng capture",
  run(ctx) {
    if (ctx.file.error) {
      throw new StageFailure(ctx.file.error, {
        details: ctx.file.packets.length ? `${ctx.file.packets.length} packets were decoded before that` : undefined,
        hint: "tcpdump -w writes pcap; tshark -w and Wireshark write pcapng; both are read here.",
      });
    }
    const tcp = ctx.file.packets.filter((p) => p.protocol === "TCP").length;
    if (tcp === 0) {
      throw new StageFailure("The capture holds no TCP packets", {
        hint: HINT_CAPTURE,
      });
    }
    const { all, graded } = conversationsOf(ctx);
    const more = overview(all, graded);
    return Promise.resolve(`${ctx.file.packets.length} packets, ${tcp} TCP${more ? `\n${more}` : ""}`);
  },
};

function stepsStage(
  name: string,
  steps: readonly string[],
  hint: (conversation: Conversation) => string,
  level: StageLevel = "core",
): Stage<CaptureContext> {
  return {
    name,
    level,
    run(ctx) {
      const { all, graded } = conversationsOf(ctx);
      const missing = (graded?.missing ?? [...CONVERSATION_STEPS]).filter((step) => steps.includes(step));
      if (missing.length > 0) {
        throw new StageFailure(`Missing: ${missing.join(", ")}`, {
          details: overview(all, graded),
          hint: graded ? hint(graded) : HINT_CAPTURE,
        });
      }
      return Promise.resolve();
    },
  };
}

export const handshake = stepsStage(
  "the three-way handshake: SYN, SYN-ACK, ACK",
  CONVERSATION_STEPS.slice(0, 3),
  (conversation) =>
    whatHappened(conversation) ??
      (conversation.missing.includes("SYN")
        ? `The capture started after the connection was made. ${HINT_CAPTURE}`
        : HINT_CAPTURE),
);

export const data = stepsStage(
  "at least one data segment",
  ["data"],
  (conversation) =>
    [whatHappened(conversation), "Send something: printf 'hello\\n' | nc -N 127.0.0.1 12345."].filter(Boolean).join(
      " ",
    ),
  // Stretch: the seed's checklist has "first data segment, if any".
  "stretch",
);

export const close = stepsStage(
  "the close: FIN, its ACK, the other FIN, the last ACK",
  CONVERSATION_STEPS.slice(4),
  (conversation) =>
    whatHappened(conversation) ??
      `The capture stopped before the connection was closed on both sides. nc -N closes after sending; stop tcpdump only after both nc have exited. ${HINT_CAPTURE}`,
);

export const tsharkAgrees: Stage<CaptureContext> = {
  name: "tshark decodes it the same way (flags, relative seq/ack, lengths)",
  timeoutMs: 60_000,
  async run(ctx) {
    let problems;
    try {
      problems = await compareWithTshark(ctx.path, ctx.file.packets);
    } catch (error) {
      if (
        error instanceof ToolError &&
        ["missing", "privileges", "not-allowed"].includes(error.kind)
      ) {
        throw new StageSkipped(error.message);
      }
      if (error instanceof Deno.errors.NotCapable) {
        throw new StageSkipped("not permitted to run tshark here");
      }
      throw error;
    }
    if (problems.length > 0) {
      throw new StageFailure(
        `tshark and netkata disagree on ${problems.length} field(s)`,
        {
          details: problems.slice(0, 10).join("\n"),
          hint: "This is likely a netkata bug: please report it with the capture.",
        },
      );
    }
  },
};
