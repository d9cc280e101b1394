/**
 * What must hold for every capture, however broken: the properties the pcap
 * fuzzer checks on each case.
 *
 * 1. The reader throws nothing but its own error type, whose message is one
 *    sentence naming the record number and the byte offset of the defect.
 * 2. Every record that lies wholly before the first changed byte comes out,
 *    unchanged, before the error: what was readable is kept.
 * 3. The result does not depend on how the file is cut into chunks.
 * 4. Its explicit limits hold: no record larger than the packet limit, no
 *    more record bytes than the file holds.
 * 5. The annotator and every way `deno task pcap` prints (lines, JSON,
 *    tables, the conversation check) take whatever the reader gave.
 *
 * @module
 */

import { Annotator, missingSteps } from "../pcap/annotate.ts";
import * as reader from "../pcap/reader.ts";
import type { CaptureRecord } from "../pcap/reader.ts";
import { formatAnnotated, formatPacketLine } from "../pcap/table.ts";
import type { PcapFuzzCase } from "./pcap_cases.ts";
import { captureLayout } from "./pcap_layout.ts";

/** The reader under test: lib/pcap/reader.ts, or a deliberately broken one in the fuzzer's own tests. */
export interface PcapSubject {
  readCaptureBatches(stream: ReadableStream<Uint8Array>): AsyncIterable<CaptureRecord[]>;
  readCapture(stream: ReadableStream<Uint8Array>): AsyncIterable<CaptureRecord>;
  /** The one error type the reader documents. */
  PcapError: abstract new (...args: never[]) => Error & { offset: number; record?: number };
  /** Largest record it accepts. */
  MAX_PACKET_BYTES: number;
}

/** A broken property: "crash" for an unexpected exception, "violation" for the rest. */
export interface CaseVerdict {
  kind: "crash" | "violation";
  problem: string;
}

/** What reading a capture gave: the records, and the error that stopped it. */
interface Outcome {
  records: CaptureRecord[];
  error?: unknown;
}

/** Streams `bytes` in pieces of `chunk` bytes, as a file read in small reads would. */
export function streamOf(bytes: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at += chunk));
    },
  });
}

async function readAll(subject: PcapSubject, bytes: Uint8Array, chunk: number, batches: boolean): Promise<Outcome> {
  const records: CaptureRecord[] = [];
  try {
    if (batches) {
      for await (const batch of subject.readCaptureBatches(streamOf(bytes, chunk))) records.push(...batch);
    } else {
      for await (const record of subject.readCapture(streamOf(bytes, chunk))) records.push(record);
    }
    return { records };
  } catch (error) {
    return { records, error };
  }
}

/** Where an unexpected exception came from: its first stack frame, without the file's folder. */
function describeThrown(error: unknown): string {
  if (!(error instanceof Error)) return `a non-error value was thrown: ${String(error)}`;
  const frame = error.stack?.split("\n").find((line) => /^\s+at /.test(line))?.trim()
    .replace(/(file:\/\/)?\/\S*\/(lib|tests)\//, "$2/");
  return `${error.name}: ${error.message}${frame ? ` (${frame})` : ""}`;
}

function sameRecord(a: CaptureRecord, b: CaptureRecord): boolean {
  if (
    a.index !== b.index || a.offset !== b.offset || a.linkType !== b.linkType ||
    a.timestampNs !== b.timestampNs || a.originalLength !== b.originalLength ||
    a.data.length !== b.data.length
  ) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

function showRecord(r: CaptureRecord): string {
  return `record ${r.index} at offset ${r.offset} (${r.data.length} bytes)`;
}

/** One sentence: capital first, no line break, no full stop inside or at the end, short enough to read. */
function sentenceProblem(message: string): string | undefined {
  if (!/^[A-Z]/.test(message)) return "does not start with a capital letter";
  if (/[\r\n]/.test(message)) return "spans several lines";
  if (/\.$/.test(message)) return "ends with a full stop";
  if (/\.\s/.test(message)) return "holds more than one sentence";
  if (message.length > 200) return `is ${message.length} characters long`;
  return undefined;
}

/** The properties of a read that stopped at a defect (1 and 4 of the module's list). */
function errorProblem(subject: PcapSubject, outcome: Outcome, length: number): CaseVerdict | undefined {
  const { error, records } = outcome;
  if (!(error instanceof subject.PcapError)) return undefined; // a crash, reported before this is asked
  const { message, offset, record } = error;
  const bad = (problem: string): CaseVerdict => ({ kind: "violation", problem: `Error "${message}" ${problem}` });
  const sentence = sentenceProblem(message);
  if (sentence) return bad(sentence);
  if (!Number.isInteger(offset) || offset < 0 || offset > length) {
    return bad(`has offset ${offset}, outside the ${length}-byte file`);
  }
  if (record === undefined) {
    // Only a defect in the file header has no record (nor offset) to name.
    if (records.length > 0 || offset !== 0) return bad(`names no record, after ${records.length} records`);
    return undefined;
  }
  if (!message.includes(`offset ${offset}`)) return bad(`does not name its offset (${offset})`);
  if (!new RegExp(`\\brecord ${record}\\b`, "i").test(message)) return bad(`does not name its record (${record})`);
  if (record !== records.length + 1) {
    return bad(`names record ${record} after ${records.length} records were read`);
  }
  const last = records.at(-1);
  if (last && offset <= last.offset) return bad(`points at offset ${offset}, before the last record read`);
  return undefined;
}

/** Property 4: the records are numbered, in order, and within the reader's limits. */
function recordsProblem(subject: PcapSubject, records: CaptureRecord[], length: number): string | undefined {
  let total = 0;
  for (const [i, record] of records.entries()) {
    if (record.index !== i + 1) return `${showRecord(record)} comes out in position ${i + 1}`;
    if (record.offset < 0 || record.offset >= length) return `${showRecord(record)} lies outside the file`;
    if (i > 0 && record.offset <= records[i - 1].offset) return `${showRecord(record)} is not after the one before`;
    if (record.data.length > subject.MAX_PACKET_BYTES) {
      return `${showRecord(record)} is above the limit of ${subject.MAX_PACKET_BYTES} bytes`;
    }
    total += record.data.length;
  }
  if (total > length) return `${records.length} records hold ${total} bytes, more than the ${length}-byte file`;
  return undefined;
}

/** The unmutated fixture's records, each with the offset just past it: read once per fixture. */
const originals = new WeakMap<Uint8Array, { records: CaptureRecord[]; ends: number[] } | string>();

async function originalRecords(subject: PcapSubject, original: Uint8Array) {
  let known = originals.get(original);
  if (known === undefined) {
    const { records, error } = await readAll(subject, original, original.length, true);
    const ends = new Map(captureLayout(original).map((u) => [u.offset, u.offset + u.length]));
    known = error !== undefined
      ? `The reader rejects the unmutated fixture: ${describeThrown(error)}`
      : { records, ends: records.map((r) => ends.get(r.offset) ?? Infinity) };
    originals.set(original, known);
  }
  return known;
}

/** Property 5: the annotator and every output format take the records. */
function annotationProblem(records: CaptureRecord[]): string | undefined {
  let step = "Annotator.annotate()";
  try {
    const annotator = new Annotator();
    const packets = records.map((record) => annotator.annotate(record));
    step = "formatPacketLine()";
    for (const packet of packets) formatPacketLine(packet);
    step = "JSON.stringify()";
    for (const packet of packets) JSON.stringify(packet);
    step = "formatAnnotated()";
    formatAnnotated(packets);
    formatAnnotated(packets, { meanings: false });
    step = "missingSteps()";
    missingSteps(packets);
    return undefined;
  } catch (error) {
    return `${step} threw ${describeThrown(error)}`;
  }
}

/**
 * Checks every property on one case. Returns the first one broken, or
 * undefined when all hold. Never throws: whatever the subject throws is
 * the verdict.
 *
 * @example
 * ```ts ignore
 * import { pcapFuzzCase } from "./pcap_cases.ts";
 * import { checkCapture } from "./pcap_properties.ts";
 * const verdict = await checkCapture(pcapFuzzCase(42, 17));
 * if (verdict) console.log(verdict.kind, verdict.problem);
 * ```
 */
export async function checkCapture(
  testCase: PcapFuzzCase,
  subject: PcapSubject = reader,
): Promise<CaseVerdict | undefined> {
  const { bytes, original, chunkSizes: [chunkA, chunkB] } = testCase;
  const first = await readAll(subject, bytes, chunkA, true);
  if (first.error !== undefined && !(first.error instanceof subject.PcapError)) {
    return { kind: "crash", problem: `The reader threw ${describeThrown(first.error)}` };
  }
  const limits = recordsProblem(subject, first.records, bytes.length);
  if (limits) return { kind: "violation", problem: limits };

  // Property 2: what lay wholly before the first changed byte is kept.
  const known = await originalRecords(subject, original);
  if (typeof known === "string") return { kind: "crash", problem: known };
  let changedAt = 0;
  const common = Math.min(bytes.length, original.length);
  while (changedAt < common && bytes[changedAt] === original[changedAt]) changedAt++;
  const expected = known.records.filter((_, i) => known.ends[i] <= changedAt);
  for (const [i, want] of expected.entries()) {
    const got = first.records[i];
    if (!got) {
      return {
        kind: "violation",
        problem: `Records before the defect were lost: ${expected.length} lie wholly before byte ${changedAt}, ` +
          `${first.records.length} came out`,
      };
    }
    if (!sameRecord(got, want)) {
      return { kind: "violation", problem: `${showRecord(got)} differs from the unmutated file's ${showRecord(want)}` };
    }
  }

  if (first.error !== undefined) {
    const verdict = errorProblem(subject, first, bytes.length);
    if (verdict) return verdict;
  }

  // Property 3: the same records and error whatever the chunking (and through readCapture too).
  const second = await readAll(subject, bytes, chunkB, false);
  const said = (o: Outcome) => o.error instanceof Error ? o.error.message : o.error === undefined ? "no error" : "?";
  if (
    second.records.length !== first.records.length || said(second) !== said(first) ||
    second.records.some((record, i) => !sameRecord(record, first.records[i]))
  ) {
    if (second.error !== undefined && !(second.error instanceof subject.PcapError)) {
      return {
        kind: "crash",
        problem: `In chunks of ${chunkB} bytes, the reader threw ${describeThrown(second.error)}`,
      };
    }
    return {
      kind: "violation",
      problem: `In chunks of ${chunkA} bytes: ${first.records.length} records, ${said(first)}; ` +
        `in chunks of ${chunkB}: ${second.records.length} records, ${said(second)}`,
    };
  }

  const annotation = annotationProblem(first.records);
  if (annotation) return { kind: "crash", problem: annotation };
  return undefined;
}
