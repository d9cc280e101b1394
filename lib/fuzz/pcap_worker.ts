/**
 * The pcap fuzzer's worker: reads the cases one after another and reports
 * each as it finishes, so that the main thread can stop it when a case
 * never finishes, which a reader stuck in a loop would otherwise make
 * impossible.
 *
 * @module
 */

import { pcapFuzzCase } from "./pcap_cases.ts";
import { type CaseVerdict, checkCapture, type PcapSubject } from "./pcap_properties.ts";

/** What the main thread asks: cases `first` to `count` − 1 of `seed`. */
export interface PcapWorkerStart {
  seed: number;
  first: number;
  count: number;
  /** URL of the reader module to fuzz; lib/pcap/reader.ts when absent. */
  readerModule?: string;
}

/** What the worker says: ready (with the RSS before any case), each case, the end (with the RSS after). */
export type PcapWorkerMessage =
  | { type: "ready"; rss: number }
  | { type: "case"; caseNumber: number; verdict?: CaseVerdict }
  | { type: "end"; rss: number };

// A worker's global scope: typed here because the project is checked with the window's types.
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<PcapWorkerStart>) => void) | null;
  postMessage(message: PcapWorkerMessage): void;
};

scope.onmessage = async ({ data: { seed, first, count, readerModule } }) => {
  const subject: PcapSubject | undefined = readerModule ? await import(readerModule) : undefined;
  scope.postMessage({ type: "ready", rss: Deno.memoryUsage().rss });
  for (let caseNumber = first; caseNumber < count; caseNumber++) {
    const verdict = await checkCapture(pcapFuzzCase(seed, caseNumber), subject);
    scope.postMessage({ type: "case", caseNumber, verdict });
  }
  scope.postMessage({ type: "end", rss: Deno.memoryUsage().rss });
};
