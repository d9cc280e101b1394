/**
 * Stages for the capture kata (Kata 5): the capture must be readable and
 * hold one whole TCP conversation, handshake to last ACK; where tshark is
 * installed, its decoding must agree with the kit's.
 *
 * @module
 */

import { type AnnotatedFile } from "../pcap/file.ts";
import { CONVERSATION_STEPS, missingSteps } from "../pcap/annotate.ts";
import { compareWithTshark } from "../pcap/tshark.ts";
import { ToolError } from "../tools/runner.ts";
import { type Stage, StageFailure, StageSkipped } from "../check/stage.ts";

/** What a capture stage works with. */
export interface CaptureContext {
  path: string;
  file: AnnotatedFile;
}

const HINT_CAPTURE =
  'Start tcpdump first and wait for “listening on”, capture on the interface the traffic uses (lo for 127.0.0.1), filter on the port ("tcp port 12345"), and stop it with Ctrl-C (SIGINT) only after both nc have exited.';

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
    return Promise.resolve(`${ctx.file.packets.length} packets, ${tcp} TCP`);
  },
};

function stepsStage(
  name: string,
  steps: readonly string[],
  hint: string,
): Stage<CaptureContext> {
  return {
    name,
    run(ctx) {
      const missing = missingSteps(ctx.file.packets).filter((step) => steps.includes(step));
      if (missing.length > 0) {
        throw new StageFailure(`Missing: ${missing.join(", ")}`, { hint });
      }
      return Promise.resolve();
    },
  };
}

export const handshake = stepsStage(
  "the three-way handshake: SYN, SYN-ACK, ACK",
  CONVERSATION_STEPS.slice(0, 3),
  `The capture started after the connection was made. ${HINT_CAPTURE}`,
);

export const data = stepsStage(
  "at least one data segment",
  ["data"],
  "Send something: printf 'hello\\n' | nc -N 127.0.0.1 12345.",
);

export const close = stepsStage(
  "the close: FIN, its ACK, the other FIN, the last ACK",
  CONVERSATION_STEPS.slice(4),
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
