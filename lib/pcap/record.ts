/**
 * What the capture readers hand over: one record, and the one error they
 * throw for a file that breaks its format.
 *
 * @module
 */

/** One captured packet. */
export interface CaptureRecord {
  /** 1-based position in the file, as Wireshark numbers frames. */
  index: number;
  /** Byte offset of the record (or block) in the file. */
  offset: number;
  /** Link-layer type of the interface it was captured on (LINKTYPE_*). */
  linkType: number;
  /** Capture time in nanoseconds since the epoch. */
  timestampNs: bigint;
  /** The captured bytes (at most the snap length). */
  data: Uint8Array;
  /** The packet's length on the wire; more than data.length when cut by the snap length. */
  originalLength: number;
}

/**
 * A file that is not a capture, or breaks the format. The message is one
 * sentence; past the file header it names the record and the byte offset,
 * and every record before that one has been handed over already.
 */
export class PcapError extends SyntaxError {
  constructor(
    message: string,
    /** Byte offset of the defective record or block (0 for the file header). */
    readonly offset: number,
    /** The record that could not be read: one more than the records read. Undefined for the file header. */
    readonly record?: number,
  ) {
    super(message);
    this.name = "PcapError";
  }
}

/** Largest packet we accept; real snap lengths are at most 256 KiB. */
export const MAX_PACKET_BYTES = 256 * 1024;
/** Largest pcapng block we accept. */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;

const NO_BYTES = new Uint8Array(0);

/**
 * One record as a reader sees it, reused from record to record so that a
 * million packets cost no million objects: its bytes are a window on the
 * reader's buffer, valid until the reader reads on. {@linkcode toRecord}
 * makes a copy safe to keep.
 */
export class RecordView {
  /** 1-based position in the file. */
  index = 0;
  /** Byte offset of the record (or block) in the file. */
  offset = 0;
  /** LINKTYPE_* of its interface. */
  linkType = 0;
  /** The buffer that holds the captured bytes, from `start`, `length` long. */
  bytes: Uint8Array = NO_BYTES;
  start = 0;
  length = 0;
  /** The packet's length on the wire. */
  originalLength = 0;
  /**
   * Capture time as whole seconds plus nanoseconds, both exact as numbers
   * (nanos may exceed a second in a damaged file); `wide` holds the time in
   * nanoseconds instead when they would not be exact.
   */
  seconds = 0;
  nanos = 0;
  wide: bigint | undefined = undefined;

  /** Capture time in nanoseconds since the epoch. */
  timestampNs(): bigint {
    return this.wide ?? BigInt(this.seconds) * 1_000_000_000n + BigInt(this.nanos);
  }

  /** A copy of the record that stays valid. */
  toRecord(): CaptureRecord {
    return {
      index: this.index,
      offset: this.offset,
      linkType: this.linkType,
      timestampNs: this.timestampNs(),
      data: this.bytes.slice(this.start, this.start + this.length),
      originalLength: this.originalLength,
    };
  }
}
