/**
 * Annotating a whole capture file, with the defect (if any) that stopped
 * the reading: everything decoded before it is kept.
 *
 * @module
 */

import { type AnnotatedPacket, Annotator, toAnnotatedPacket } from "./annotate.ts";
import { fileSource } from "./chunks.ts";
import { CaptureScanner, PcapError } from "./reader.ts";

/** What a capture file held. */
export interface AnnotatedFile {
  packets: AnnotatedPacket[];
  /** Why reading stopped early, if it did. */
  error?: string;
}

/**
 * Reads and annotates `path`. A missing file or a file that is not a
 * capture is reported in `error`, never thrown, so callers can always show
 * what was decoded.
 */
export async function annotateFile(path: string): Promise<AnnotatedFile> {
  const packets: AnnotatedPacket[] = [];
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { packets, error: `No such file: ${path}` };
    }
    if (error instanceof Deno.errors.IsADirectory) {
      return { packets, error: `${path} is a folder, not a capture file` };
    }
    throw error;
  }
  // Opening a folder succeeds on Linux: only reading it would fail.
  if ((await file.stat()).isDirectory) {
    file.close();
    return { packets, error: `${path} is a folder, not a capture file` };
  }
  const annotator = new Annotator();
  try {
    const scanner = await CaptureScanner.open(fileSource(file), 64 * 1024);
    while (await scanner.fill()) {
      while (scanner.next()) packets.push(toAnnotatedPacket(annotator.annotateView(scanner.record)));
    }
    return { packets };
  } catch (error) {
    if (error instanceof PcapError) return { packets, error: error.message };
    throw error;
  } finally {
    file.close();
  }
}
