/**
 * `deno task kata:5 …`: check a capture (the kit's or the learner's), make
 * one in a private lab, or practise labelling its packets.
 *
 * @module
 */

import type { CaptureKata } from "../../katas/catalog.ts";
import { formatHeading, formatStage, formatSummary } from "../../lib/check/report.ts";
import { runCaptureCheck } from "../../lib/check/run.ts";
import { UsageError } from "../../lib/cli/errors.ts";
import { captureHandshake } from "../../lib/lab/handshake.ts";
import { LabUnavailable } from "../../lib/lab/lab.ts";
import { annotateFile } from "../../lib/pcap/file.ts";
import { formatAnnotated } from "../../lib/pcap/table.ts";
import { createUniqueFile } from "../../lib/report/unique_file.ts";
import { labelSession } from "../../lib/practice/label_session.ts";
import type { LogPaths } from "../../lib/practice/logs.ts";
import { interrupted, ToolError, Transcript } from "../../lib/tools/runner.ts";
import { expectNoMore, type KataFlags, reportCannotStart } from "./common.ts";

/** Kata 5: check a capture (the kit's or the learner's), make one, or practise labelling. */
export async function captureKata(
  kata: CaptureKata,
  command: string,
  rest: string[],
  flags: KataFlags,
  card: string,
  logs: LogPaths,
): Promise<number> {
  const capture = async (json = false) => {
    // Claimed before tcpdump opens it: two captures in the same second
    // would otherwise write to the same timestamped file.
    const output = `${await createUniqueFile(await logs.timestamped(kata), ".pcap")}.pcap`;
    const transcript = new Transcript((line) => json || console.log(line));
    await captureHandshake({ output, transcript, onNotice: (notice) => console.error(notice) });
    return output;
  };
  switch (command) {
    case "practice":
      expectNoMore(rest, command);
      await labelSession({
        kata,
        card,
        logs,
        capture: () => capture(),
        annotate: annotateFile,
        commands: HANDSHAKE_COMMANDS,
      });
      return 0;
    case "run": {
      expectNoMore(rest, command);
      const path = await capture();
      const { packets, error } = await annotateFile(path);
      console.log(`\n${formatAnnotated(packets)}\n\nSaved to ${path}`);
      if (error) console.error(error);
      return error ? 1 : 0;
    }
    case "check": {
      expectNoMore(rest, command);
      const json = flags.json ?? false;
      const given = (["reference", "file"] as const).filter((flag) => flags[flag] !== undefined);
      const other = (["reference-c", "cmd", "port", "host"] as const).find((
        flag,
      ) => flags[flag] !== undefined);
      if (other || given.length !== 1) {
        throw new UsageError(
          `Kata ${kata.number} grades a capture: use --reference (the kit makes one) or --file CAPTURE.pcap${
            other ? `, not --${other}` : ""
          }`,
        );
      }
      let path = flags.file;
      if (path === undefined) {
        try {
          path = await capture(json);
        } catch (error) {
          if (
            !(error instanceof ToolError || error instanceof LabUnavailable) || interrupted()
          ) throw error;
          reportCannotStart(kata, error.message, json);
          return 1;
        }
      }
      const report = await runCaptureCheck(
        { ...kata, stages: await kata.loadStages() },
        path,
        {
          onStart: (label) => {
            if (json) return;
            console.log(`\n${formatHeading(kata.number, kata.title, label)}`);
          },
          onResult: (result) => json || console.log(formatStage(result)),
        },
      );
      if (json) {
        const { packets } = await annotateFile(path);
        console.log(JSON.stringify({ ...report, packets }, null, 2));
      } else {
        const { packets } = await annotateFile(path);
        if (packets.length > 0) console.log(`\n${formatAnnotated(packets)}`);
        console.log(formatSummary(report));
      }
      return report.passed ? 0 : 1;
    }
    default:
      throw new UsageError(`Unknown command: ${command}`);
  }
}

/** The card's commands, for a learner who captures by hand. */
const HANDSHAKE_COMMANDS = [
  `sudo tcpdump --immediate-mode -i lo -w handshake.pcap "tcp port 12345"   # terminal 1; wait for "listening on"`,
  `nc -l 127.0.0.1 12345                                                  # terminal 2`,
  `printf 'hello kata\\n' | nc -N 127.0.0.1 12345                          # terminal 3; then Ctrl-C in terminal 1`,
];
