/**
 * `deno task pcap FILE` — annotates any capture: one line per packet with
 * what it means; `--json` prints one JSON object per packet instead. Reads
 * the file as a stream, so a capture larger than memory works too.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { UsageError, usageFromParseError } from "../cli/errors.ts";
import { type AnnotatedPacket, Annotator, missingSteps } from "./annotate.ts";
import { PcapError, readCaptureBatches } from "./reader.ts";
import { formatPacketLine } from "./table.ts";
import { compareWithTshark } from "./tshark.ts";
import { BufferedTextWriter } from "../report/buffered_writer.ts";
import { ToolError } from "../tools/runner.ts";

const HELP = `deno task pcap FILE — annotate a capture (pcap or pcapng)

Usage:
  deno task pcap FILE [--json] [--no-tshark]

Prints every packet with its direction, flags, relative seq/ack, length and
what it means, then whether the first TCP conversation is whole (SYN to last
ACK). Where tshark is installed, its decoding is compared with the kit's.

Options:
  --json        one JSON object per packet (frame, time, addresses and ports,
                flags, relative and raw seq/ack, length, label, meaning)
  --no-tshark   skip the comparison with tshark`;

/** How many packets are kept for the conversation and tshark checks (the first ones). */
const KEPT_FOR_CHECKS = 10_000;

/**
 * Runs `deno task pcap` with `args`; returns the exit status.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * Deno.exit(await main(["handshake.pcap", "--json"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        json: { type: "boolean" },
        "no-tshark": { type: "boolean" },
      },
    });
  } catch (error) {
    usageFromParseError(error);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      "Give one capture file: deno task pcap handshake.pcap",
    );
  }
  const path = positionals[0];
  const printed = await printPackets(path, values.json ?? false);
  if (printed === "stopped") return 0;
  const { count, kept, defect } = printed;
  if (defect) {
    console.error(
      `${count > 0 ? `Stopped after ${count} packets: ` : ""}${defect}`,
    );
  }
  if (values.json || (defect && count === 0)) return defect ? 1 : 0;

  const missing = missingSteps(kept);
  console.log(
    missing.length === 0
      ? `\n${count} packets. The first TCP conversation is whole: handshake, data, and both FINs acknowledged.`
      : `\n${count} packets. The first TCP conversation is missing: ${missing.join(", ")}.`,
  );
  if (!values["no-tshark"] && !defect && count <= KEPT_FOR_CHECKS) {
    await printTsharkComparison(path, kept);
  }
  return defect ? 1 : 0;
}

/** What printing the packets saw. */
interface Printed {
  count: number;
  /** The first packets, for the conversation and tshark checks. */
  kept: AnnotatedPacket[];
  /** Why reading stopped early, for a damaged file. */
  defect?: string;
}

/**
 * Prints one line (or JSON object) per packet as the file is read;
 * "stopped" when the reader of our output went away (`| head`).
 */
async function printPackets(path: string, json: boolean): Promise<Printed | "stopped"> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`No such file: ${path}`);
    }
    throw error;
  }
  // Opening a folder succeeds on Linux: only reading it would fail, with the OS's words.
  if ((await file.stat()).isDirectory) {
    file.close();
    throw new UsageError(`${path} is a folder, not a capture file`);
  }
  const out = new BufferedTextWriter(Deno.stdout);
  const annotator = new Annotator();
  const kept: AnnotatedPacket[] = [];
  let count = 0;
  let defect: string | undefined;
  try {
    for await (const batch of readCaptureBatches(file.readable)) {
      for (const record of batch) {
        const packet = annotator.annotate(record);
        count++;
        if (kept.length < KEPT_FOR_CHECKS) kept.push(packet);
        const writing = out.write(
          (json ? JSON.stringify(packet) : formatPacketLine(packet)) +
            "\n",
        );
        if (writing) await writing; // only when a piece is full: no await per line
      }
    }
  } catch (error) {
    // A reader that stopped early (| head) is not an error: stop quietly.
    if (error instanceof Deno.errors.BrokenPipe) return "stopped";
    if (!(error instanceof PcapError)) throw error;
    defect = error.message;
  }
  try {
    await out.flush();
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) return "stopped";
    throw error;
  }
  return { count, kept, defect };
}

/** Compares the kit's decoding with tshark's, where tshark can run. */
async function printTsharkComparison(path: string, kept: AnnotatedPacket[]): Promise<void> {
  try {
    const problems = await compareWithTshark(path, kept);
    console.log(
      problems.length === 0
        ? "tshark decodes it the same way."
        : `tshark disagrees:\n  ${problems.slice(0, 20).join("\n  ")}`,
    );
  } catch (error) {
    if (
      !(error instanceof ToolError || error instanceof Deno.errors.NotCapable)
    ) throw error;
    console.log(`(No comparison with tshark: ${error.message})`);
  }
}
