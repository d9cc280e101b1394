/**
 * Where the records, blocks and length fields of a capture are, found by a
 * walk that trusts nothing and never throws: the fuzzer aims its mutations
 * with it, and tells from it which records lie wholly before a defect.
 *
 * It is deliberately not lib/pcap/reader.ts: a second, tiny reading of the
 * format, so that the reader is judged against something other than itself.
 *
 * @module
 */

/** One structural piece of a capture file. */
export interface Unit {
  /** "file header" (pcap), "record" (pcap), or "block" (pcapng; a section header is one). */
  kind: "file header" | "record" | "block";
  /** Byte offset in the file. */
  offset: number;
  /** Length in bytes, header and trailer included. */
  length: number;
  /** Byte order of its numbers. */
  little: boolean;
  /** pcapng block type. */
  type?: number;
  /** 1-based record number, for pcap records and pcapng packet blocks (types 3 and 6). */
  record?: number;
}

/** A number inside a unit that a mutation may set. */
export interface Field {
  name: string;
  /** Absolute byte offset. */
  at: number;
  size: 2 | 4;
  little: boolean;
}

const PCAP_MICRO = 0xa1b2c3d4;
const PCAP_NANO = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;

/** pcapng block types the fuzzer names. */
export const BlockType = {
  SECTION: PCAPNG_SHB,
  INTERFACE: 1,
  SIMPLE_PACKET: 3,
  ENHANCED_PACKET: 6,
} as const;

/**
 * The units of `bytes` up to the first one that does not fit (a truncated
 * or inconsistent unit ends the walk). Empty for what is neither format.
 *
 * @example
 * ```ts
 * import { captureLayout } from "./pcap_layout.ts";
 * const units = captureLayout(new Uint8Array(24)); // not a capture
 * console.log(units.length); // 0
 * ```
 */
export function captureLayout(bytes: Uint8Array): Unit[] {
  if (bytes.length < 4) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicLE = view.getUint32(0, true);
  if (magicLE === PCAPNG_SHB) return pcapngUnits(view);
  if (magicLE === PCAP_MICRO || magicLE === PCAP_NANO) return pcapUnits(view, true);
  const magicBE = view.getUint32(0, false);
  if (magicBE === PCAP_MICRO || magicBE === PCAP_NANO) return pcapUnits(view, false);
  return [];
}

function pcapUnits(view: DataView, little: boolean): Unit[] {
  if (view.byteLength < 24) return [];
  const units: Unit[] = [{ kind: "file header", offset: 0, length: 24, little }];
  for (let at = 24, record = 1; at + 16 <= view.byteLength; record++) {
    const length = 16 + view.getUint32(at + 8, little);
    if (at + length > view.byteLength) break;
    units.push({ kind: "record", offset: at, length, little, record });
    at += length;
  }
  return units;
}

function pcapngUnits(view: DataView): Unit[] {
  const units: Unit[] = [];
  let little = true;
  let record = 0;
  for (let at = 0; at + 12 <= view.byteLength;) {
    const type = view.getUint32(at, little);
    if (type === PCAPNG_SHB) {
      const magic = view.getUint32(at + 8, true);
      if (magic === PCAPNG_BYTE_ORDER) little = true;
      else if (view.getUint32(at + 8, false) === PCAPNG_BYTE_ORDER) little = false;
      else break;
    }
    const length = view.getUint32(at + 4, little);
    if (length < 12 || length % 4 !== 0 || at + length > view.byteLength) break;
    const unit: Unit = { kind: "block", offset: at, length, little, type };
    if (type === BlockType.SIMPLE_PACKET || type === BlockType.ENHANCED_PACKET) unit.record = ++record;
    units.push(unit);
    at += length;
  }
  return units;
}

/** Where a unit's packet bytes start, for units that hold a packet. */
export function packetDataOffset(unit: Unit): number | undefined {
  if (unit.kind === "record") return unit.offset + 16;
  if (unit.type === BlockType.ENHANCED_PACKET && unit.length >= 32) return unit.offset + 28;
  if (unit.type === BlockType.SIMPLE_PACKET && unit.length >= 16) return unit.offset + 12;
  return undefined;
}

/** The numbers of a unit a mutation may set: lengths, types, link types, magic numbers. */
export function unitFields(unit: Unit): Field[] {
  const { offset: o, little } = unit;
  const field = (name: string, at: number, size: 2 | 4 = 4): Field => ({ name, at: o + at, size, little });
  if (unit.kind === "file header") {
    return [
      field("magic number", 0),
      field("major version", 4, 2),
      field("snap length", 16),
      field("link type", 20),
    ];
  }
  const name = unit.record !== undefined ? `record ${unit.record}` : `block at ${o}`;
  if (unit.kind === "record") {
    return [
      field(`seconds of ${name}`, 0),
      field(`fraction of ${name}`, 4),
      field(`captured length of ${name}`, 8),
      field(`original length of ${name}`, 12),
    ];
  }
  const fields = [
    field(`type of ${name}`, 0),
    field(`length of ${name}`, 4),
    field(`trailing length of ${name}`, unit.length - 4),
  ];
  switch (unit.type) {
    case BlockType.SECTION:
      fields.push(field(`byte-order magic of ${name}`, 8), field(`major version of ${name}`, 12, 2));
      break;
    case BlockType.INTERFACE:
      fields.push(field(`link type of ${name}`, 8, 2), field(`snap length of ${name}`, 12));
      if (unit.length >= 24) {
        fields.push(field(`first option code of ${name}`, 16, 2), field(`first option length of ${name}`, 18, 2));
      }
      break;
    case BlockType.ENHANCED_PACKET:
      if (unit.length >= 32) {
        fields.push(
          field(`interface of ${name}`, 8),
          field(`timestamp (high) of ${name}`, 12),
          field(`captured length of ${name}`, 20),
          field(`original length of ${name}`, 24),
        );
      }
      break;
    case BlockType.SIMPLE_PACKET:
      if (unit.length >= 16) fields.push(field(`original length of ${name}`, 8));
      break;
  }
  return fields;
}
