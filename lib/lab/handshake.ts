/**
 * Kata 5's capture, done the way the card says, inside a private lab:
 * tcpdump on loopback filtered to one port, a listener and a client (nc),
 * one line of data, a close, then tcpdump stopped so that it flushes.
 *
 * @module
 */

import { type Transcript } from "../tools/runner.ts";
import { Lab, LabUnavailable } from "./lab.ts";

/** The whole capture takes a second; nothing of it may live longer than this. */
const CAPTURE_LIFETIME_MS = 60_000;

/** Options for {@linkcode captureHandshake}. */
export interface HandshakeOptions {
  /** Where the capture goes (pcap). */
  output: string;
  /** The port the listener uses. @default {12345} */
  port?: number;
  /** The line the client sends. @default {"hello kata\n"} */
  message?: string;
  transcript?: Transcript;
  /** Told when the capture cannot happen in a private lab and falls back to the host. */
  onNotice?: (notice: string) => void;
}

/**
 * Captures one whole TCP conversation into `options.output`, in a private
 * lab where one can be made and on the host's loopback otherwise. Throws
 * ToolError with an actionable message when it cannot.
 */
export async function captureHandshake(options: HandshakeOptions): Promise<void> {
  const port = String(options.port ?? 12345);
  let lab: Lab;
  try {
    lab = await Lab.create("kata5", { transcript: options.transcript });
  } catch (error) {
    if (!(error instanceof LabUnavailable)) throw error;
    // No private lab here: capture on the host's own loopback instead.
    // tcpdump still needs its privileges; if it lacks them it says so.
    options.onNotice?.(`${error.message}. Capturing on the host's loopback instead.`);
    lab = Lab.host({ transcript: options.transcript });
  }
  await using _lab = lab;
  const loopback = Deno.build.os === "darwin" ? "lo0" : "lo";
  // --immediate-mode: hand each packet over at once. Without it, packets
  // wait in the kernel's capture buffer, and stopping tcpdump soon after the
  // traffic loses them ("0 packets captured"). -U writes each one at once.
  // A time limit on each: tcpdump and nc -l would wait forever for traffic
  // if this process were killed before it stopped them.
  const capture = lab.spawn("tcpdump", [
    "--immediate-mode",
    "-U",
    "-i",
    loopback,
    "-w",
    options.output,
    `tcp port ${port}`,
  ], { lifetimeMs: CAPTURE_LIFETIME_MS });
  await capture.waitForOutput(/listening on/);
  // nc -l exits when its client closes; -v makes it say when it listens.
  const listener = lab.spawn("nc", ["-l", "-v", "127.0.0.1", port], { lifetimeMs: CAPTURE_LIFETIME_MS });
  await listener.waitForOutput(/Listening on/);
  // -N: shut the connection down (FIN) once the input is sent.
  await lab.run("nc", ["-N", "127.0.0.1", port], { stdin: options.message ?? "hello kata\n", timeoutMs: 10_000 });
  await listener.finished;
  // SIGINT, not SIGKILL: tcpdump finishes writing the file on SIGINT.
  await capture.stop("SIGINT");
}
