/**
 * The captures the pcap fuzzer reads: real fixture captures (pcap µs and ns,
 * both byte orders, five link types, pcapng with several interfaces and
 * sections) broken in the ways capture files break — flipped bits, runs of
 * bytes, truncation at every kind of boundary, impossible lengths, corrupt
 * block types, swapped link types, duplicated, deleted and spliced records,
 * and plain garbage.
 *
 * Case n of seed s is always the same capture: {@linkcode pcapFuzzCase}
 * rebuilds it from (s, n) alone.
 *
 * @module
 */

import bigEndianPcap from "../../tests/fixtures/pcap/handshake-big-endian.pcap" with { type: "bytes" };
import bigEndianPcapng from "../../tests/fixtures/pcap/handshake-big-endian.pcapng" with { type: "bytes" };
import ethernet from "../../tests/fixtures/pcap/handshake-ethernet.pcap" with { type: "bytes" };
import ipv6 from "../../tests/fixtures/pcap/handshake-ipv6.pcap" with { type: "bytes" };
import loop from "../../tests/fixtures/pcap/handshake-loop.pcap" with { type: "bytes" };
import nanosecond from "../../tests/fixtures/pcap/handshake-nanosecond.pcap" with { type: "bytes" };
import nullLoopback from "../../tests/fixtures/pcap/handshake-null.pcap" with { type: "bytes" };
import raw from "../../tests/fixtures/pcap/handshake-raw.pcap" with { type: "bytes" };
import sll from "../../tests/fixtures/pcap/handshake-sll.pcap" with { type: "bytes" };
import sll2 from "../../tests/fixtures/pcap/handshake-sll2.pcap" with { type: "bytes" };
import twoInterfaces from "../../tests/fixtures/pcap/handshake-two-interfaces.pcapng" with { type: "bytes" };
import twoSections from "../../tests/fixtures/pcap/handshake-two-sections.pcapng" with { type: "bytes" };
import pcapng from "../../tests/fixtures/pcap/handshake.pcapng" with { type: "bytes" };
import { BlockType, captureLayout, type Field, packetDataOffset, type Unit, unitFields } from "./pcap_layout.ts";
import { caseSeed, SeededRandom } from "./seeded_random.ts";

/** The real captures every case starts from (tests/fixtures/pcap, see its README). */
export const PCAP_FIXTURES: Readonly<Record<string, Uint8Array>> = {
  "handshake-ethernet.pcap": ethernet,
  "handshake-nanosecond.pcap": nanosecond,
  "handshake-ipv6.pcap": ipv6,
  "handshake-sll.pcap": sll,
  "handshake-sll2.pcap": sll2,
  "handshake-null.pcap": nullLoopback,
  "handshake-loop.pcap": loop,
  "handshake-raw.pcap": raw,
  "handshake-big-endian.pcap": bigEndianPcap,
  "handshake.pcapng": pcapng,
  "handshake-big-endian.pcapng": bigEndianPcapng,
  "handshake-two-interfaces.pcapng": twoInterfaces,
  "handshake-two-sections.pcapng": twoSections,
};

/** One fuzz case: a broken capture and how it was broken. */
export interface PcapFuzzCase {
  /** The fixture it started from. */
  fixture: string;
  /** That fixture's bytes, unmutated. */
  original: Uint8Array;
  /** The mutated capture. */
  bytes: Uint8Array;
  /** What was done to it, in order, e.g. "truncate at 419 (record 4 + 16)". */
  mutations: string[];
  /** Two chunk sizes to stream it in: the result must not depend on them. */
  chunkSizes: [number, number];
}

/** Mutants stay small: a case should take well under a millisecond to read. */
const MAX_CASE_BYTES = 64 * 1024;

/** Values that break length checks: zero, off-by-one around headers, the reader's limits, sign bits. */
const INTERESTING_32 = [
  0,
  1,
  3,
  4,
  8,
  11,
  12,
  13,
  15,
  16,
  20,
  27,
  28,
  31,
  32,
  0xffff,
  0x10000,
  256 * 1024 - 1,
  256 * 1024,
  256 * 1024 + 1,
  16 * 1024 * 1024 - 4,
  16 * 1024 * 1024,
  16 * 1024 * 1024 + 4,
  0x7ffffffc,
  0x7fffffff,
  0x80000000,
  0xfffffff0,
  0xfffffffc,
  0xffffffff,
];

/** Link types: the supported ones, their BSD aliases, unknown ones, and the FCS bits pcap keeps above them. */
const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 276, 147, 0xffff, 0x10000001, 0xf0000001];

/** Block types: the known ones in the wrong place, reserved and custom ones. */
const BLOCK_TYPES = [
  0,
  BlockType.INTERFACE,
  2,
  BlockType.SIMPLE_PACKET,
  4,
  5,
  BlockType.ENHANCED_PACKET,
  BlockType.SECTION,
  0x00000bad,
  0x40000bad,
  0x80000000,
  0xffffffff,
];

/** Chunk sizes to stream a case in: single bytes (rarely: slow), odd sizes, whole. */
const CHUNK_SIZES: readonly (readonly [number, number])[] = [
  [1, 1],
  [2, 2],
  [3, 4],
  [7, 6],
  [13, 6],
  [64, 6],
  [509, 6],
  [4096, 4],
  [MAX_CASE_BYTES, 6],
];

type Mutation = (random: SeededRandom, bytes: Uint8Array, units: Unit[]) => [Uint8Array, string] | undefined;

function describe(unit: Unit): string {
  if (unit.kind === "file header") return "file header";
  return unit.record !== undefined ? `record ${unit.record}` : `block at ${unit.offset}`;
}

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

function setNumber(bytes: Uint8Array, field: Field, value: number): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  if (field.size === 2) view.setUint16(field.at, value & 0xffff, field.little);
  else view.setUint32(field.at, value >>> 0, field.little);
  return out;
}

function getNumber(bytes: Uint8Array, field: Field): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return field.size === 2 ? view.getUint16(field.at, field.little) : view.getUint32(field.at, field.little);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Offsets where a reader changes state: unit starts, ends, header ends, the pcapng trailer. */
function boundaries(units: Unit[], length: number): [number, string][] {
  const points: [number, string][] = [[0, "start"], [length, "end"]];
  for (const unit of units) {
    const name = describe(unit);
    const header = unit.kind === "record" ? 16 : unit.kind === "block" ? 8 : 24;
    points.push(
      [unit.offset, `start of ${name}`],
      [unit.offset + 4, `${name} + 4`],
      [unit.offset + header, `${name} + ${header}`],
      [unit.offset + unit.length - 4, `${name} trailer`],
      [unit.offset + unit.length, `end of ${name}`],
    );
    if (unit.type === BlockType.ENHANCED_PACKET) points.push([unit.offset + 28, `${name} + 28`]);
    if (unit.kind === "file header") points.push([16, "file header + 16"]);
  }
  return points.filter(([at]) => at >= 0 && at <= length);
}

const flipBits: Mutation = (random, bytes) => {
  if (bytes.length === 0) return undefined;
  const out = bytes.slice();
  const flips = random.int(1, 8);
  const at: number[] = [];
  for (let i = 0; i < flips; i++) {
    const position = random.int(0, out.length - 1);
    out[position] ^= 1 << random.int(0, 7);
    at.push(position);
  }
  return [out, `flip bits at ${at.join(",")}`];
};

const overwriteRun: Mutation = (random, bytes) => {
  if (bytes.length === 0) return undefined;
  const out = bytes.slice();
  const start = random.int(0, out.length - 1);
  const end = Math.min(out.length, start + random.int(1, 32));
  const fill = random.pick([0x00, 0xff, 0x7f, 0x80, -1]);
  for (let i = start; i < end; i++) out[i] = fill === -1 ? random.uint32() & 0xff : fill;
  return [out, `overwrite ${start}..${end - 1} with ${fill === -1 ? "random bytes" : hex(fill)}`];
};

const truncate: Mutation = (random, bytes, units) => {
  const points = boundaries(units, bytes.length);
  let [at, where] = random.chance(0.8) ? random.pick(points) : [random.int(0, bytes.length), "random"];
  const nudge = random.pick([0, 0, 0, -1, 1]);
  at = Math.max(0, Math.min(bytes.length, at + nudge));
  return [bytes.slice(0, at), `truncate at ${at} (${where}${nudge ? ` ${nudge > 0 ? "+" : "-"} 1` : ""})`];
};

const setField: Mutation = (random, bytes, units) => {
  const fields = units.flatMap(unitFields);
  if (fields.length === 0) return undefined;
  const field = random.pick(fields);
  const old = getNumber(bytes, field);
  const value = random.weighted<() => number>([
    [() => random.pick(INTERESTING_32), 6],
    [() => old + random.pick([-4, -1, 1, 4]), 3],
    [() => old * 2, 1],
    [() => random.uint32(), 1],
    // The same number in the other byte order: a byte-order mix-up.
    [() => new DataView(new Uint32Array([old]).buffer).getUint32(0, false), 1],
  ])();
  const other = random.chance(0.1);
  const target = other ? { ...field, little: !field.little } : field;
  return [
    setNumber(bytes, target, value),
    `set ${field.name} to ${hex(value >>> 0)}${other ? " (other byte order)" : ""}`,
  ];
};

const swapLinkType: Mutation = (random, bytes, units) => {
  const fields = units.flatMap(unitFields).filter((f) => f.name.startsWith("link type"));
  if (fields.length === 0) return undefined;
  const field = random.pick(fields);
  const value = random.pick(LINK_TYPES);
  return [setNumber(bytes, field, value), `set ${field.name} to ${value}`];
};

const setBlockType: Mutation = (random, bytes, units) => {
  const blocks = units.filter((u) => u.kind === "block");
  if (blocks.length === 0) return undefined;
  const block = random.pick(blocks);
  const value = random.pick(BLOCK_TYPES);
  const field: Field = { name: "type", at: block.offset, size: 4, little: block.little };
  return [setNumber(bytes, field, value), `set type of ${describe(block)} to ${hex(value)}`];
};

/**
 * Makes a unit shorter or longer and keeps its length fields consistent, so
 * that the reader gets past the block-level checks and meets what is inside.
 */
const resizeUnit: Mutation = (random, bytes, units) => {
  const candidates = units.filter((u) => u.kind !== "file header");
  if (candidates.length === 0) return undefined;
  const unit = random.pick(candidates);
  const header = unit.kind === "record" ? 16 : 8;
  const trailer = unit.kind === "record" ? 0 : 4;
  const body = unit.length - header - trailer;
  const step = unit.kind === "record" ? 1 : 4;
  const newBody = random.chance(0.5)
    ? random.int(0, Math.floor(body / step)) * step // shorter, down to nothing
    : body + random.int(1, 16) * step; // longer, with garbage inside
  const bodyStart = unit.offset + header;
  const end = unit.offset + unit.length;
  const newBodyBytes = newBody <= body
    ? bytes.slice(bodyStart, bodyStart + newBody)
    : concat(bytes.slice(bodyStart, bodyStart + body), random.bytes(newBody - body));
  const headerBytes = bytes.slice(unit.offset, bodyStart);
  const view = new DataView(headerBytes.buffer);
  const newLength = unit.kind === "record" ? newBody : header + newBody + trailer;
  view.setUint32(unit.kind === "record" ? 8 : 4, newLength, unit.little);
  const trailerBytes = new Uint8Array(trailer);
  if (trailer) new DataView(trailerBytes.buffer).setUint32(0, newLength, unit.little);
  const out = concat(bytes.slice(0, unit.offset), headerBytes, newBodyBytes, trailerBytes, bytes.slice(end));
  return [out, `resize ${describe(unit)} from ${unit.length} to ${header + newBody + trailer} bytes`];
};

const duplicateUnit: Mutation = (random, bytes, units) => {
  const candidates = units.filter((u) => u.kind !== "file header");
  if (candidates.length === 0) return undefined;
  const unit = random.pick(candidates);
  const copy = bytes.slice(unit.offset, unit.offset + unit.length);
  const times = random.pick([1, 1, 2, 50]);
  const target = random.pick(units);
  const at = target.offset + target.length;
  const copies = Array.from({ length: times }, () => copy);
  return [
    concat(bytes.slice(0, at), ...copies, bytes.slice(at)),
    `copy ${describe(unit)} ${times}× after ${describe(target)}`,
  ];
};

const deleteUnit: Mutation = (random, bytes, units) => {
  if (units.length === 0) return undefined;
  const unit = random.pick(units);
  return [
    concat(bytes.slice(0, unit.offset), bytes.slice(unit.offset + unit.length)),
    `delete ${describe(unit)}`,
  ];
};

/** A record or block from another capture: another byte order, format or link type. */
const spliceUnit: Mutation = (random, bytes, units) => {
  const donorName = random.pick(Object.keys(PCAP_FIXTURES));
  const donor = PCAP_FIXTURES[donorName];
  const donorUnits = captureLayout(donor);
  if (donorUnits.length === 0) return undefined;
  const piece = random.pick(donorUnits);
  const [at, where] = random.pick(boundaries(units, bytes.length));
  return [
    concat(bytes.slice(0, at), donor.slice(piece.offset, piece.offset + piece.length), bytes.slice(at)),
    `insert ${describe(piece)} of ${donorName} at ${at} (${where})`,
  ];
};

const insertBytes: Mutation = (random, bytes) => {
  const at = random.int(0, bytes.length);
  const count = random.pick([1, 2, 3, 4, 8, 16, 100]);
  return [concat(bytes.slice(0, at), random.bytes(count), bytes.slice(at)), `insert ${count} random bytes at ${at}`];
};

const deleteBytes: Mutation = (random, bytes) => {
  if (bytes.length === 0) return undefined;
  const at = random.int(0, bytes.length - 1);
  const count = Math.min(bytes.length - at, random.pick([1, 2, 3, 4, 8, 16]));
  return [concat(bytes.slice(0, at), bytes.slice(at + count)), `delete ${count} bytes at ${at}`];
};

/** The IP and TCP headers inside a packet: lengths, versions, protocols, option bytes. */
const packetHeaderByte: Mutation = (random, bytes, units) => {
  const packets = units.flatMap((u) => {
    const start = packetDataOffset(u);
    return start === undefined ? [] : [{ unit: u, start, end: u.offset + u.length - (u.kind === "block" ? 4 : 0) }];
  }).filter((p) => p.end > p.start);
  if (packets.length === 0) return undefined;
  const { unit, start, end } = random.pick(packets);
  const at = random.int(start, Math.min(end - 1, start + 80));
  const out = bytes.slice();
  const value = random.pick([0x00, 0xff, 0x0f, 0xf0, 0x40, 0x45, 0x4f, 0x60, 0x06, 0x11, 0x2c, 0x3c, 0x2b, 0x00, -1]);
  out[at] = value === -1 ? random.uint32() & 0xff : value;
  return [out, `set packet byte ${at - start} of ${describe(unit)} to ${hex(out[at])}`];
};

/**
 * A block made here rather than found in a fixture: too short, on a missing
 * interface, with odd timestamp resolutions or another byte order, placed
 * right after a real one. Blocks the fixtures never show, with lengths
 * right enough that the reader gets to their contents.
 */
const craftBlock: Mutation = (random, bytes, units) => {
  const blocks = units.filter((u) => u.kind === "block");
  if (blocks.length === 0) return undefined;
  const after = random.pick(blocks);
  const little = after.little;
  const type = random.pick([
    BlockType.SECTION,
    BlockType.INTERFACE,
    BlockType.SIMPLE_PACKET,
    BlockType.ENHANCED_PACKET,
    5,
    0x80000001,
  ]);
  const bodyLength = random.pick([0, 4, 8, 12, 16, 20, 24, 32, 64]);
  const block = new Uint8Array(12 + bodyLength);
  if (random.chance(0.5)) block.set(random.bytes(bodyLength), 8);
  const view = new DataView(block.buffer);
  const fits = (at: number, size: number) => 8 + at + size <= 8 + bodyLength;
  const set32 = (at: number, value: number) => {
    if (fits(at, 4)) view.setUint32(8 + at, value >>> 0, little);
  };
  view.setUint32(0, type, little);
  view.setUint32(4, block.length, little);
  view.setUint32(block.length - 4, block.length, little);
  if (type === BlockType.SECTION) {
    set32(0, random.pick([0x1a2b3c4d, 0x4d3c2b1a, 0]));
  } else if (type === BlockType.INTERFACE) {
    if (fits(0, 2)) view.setUint16(8, random.pick(LINK_TYPES) & 0xffff, little);
    set32(4, random.pick([0, 4, 65535]));
    if (fits(8, 8) && random.chance(0.7)) {
      view.setUint16(16, 9, little); // if_tsresol
      view.setUint16(18, 1, little);
      view.setUint8(20, random.pick([0, 3, 6, 9, 10, 19, 0x7f, 0x80, 0x8a, 0xff]));
    }
  } else if (type === BlockType.ENHANCED_PACKET) {
    set32(0, random.pick([0, 1, 2, 0xffffffff]));
    set32(4, random.pick([0, 0xffffffff]));
    set32(12, random.pick([0, 1, bodyLength - 20, bodyLength - 19, 0xffffffff]));
  } else if (type === BlockType.SIMPLE_PACKET) {
    set32(0, random.pick([0, bodyLength - 4, bodyLength - 3, 0xffffffff]));
  }
  const at = after.offset + after.length;
  return [
    concat(bytes.slice(0, at), block, bytes.slice(at)),
    `insert a ${block.length}-byte block of type ${hex(type)} after ${describe(after)}`,
  ];
};

const randomFile: Mutation = (random, bytes, units) => {
  const length = random.pick([0, 1, 3, 4, 23, 24, 100, 1000, 4000]);
  const keep = random.weighted<number>([
    [0, 2],
    [4, 1], // the magic number alone
    [units[0]?.length ?? 0, 2], // the file or section header
    [units.length > 1 ? units[1].offset + units[1].length : 0, 1], // and the first interface
  ]);
  const kept = bytes.slice(0, Math.min(keep, bytes.length));
  return [concat(kept, random.bytes(length)), `keep ${kept.length} bytes, then ${length} random bytes`];
};

const MUTATIONS: readonly (readonly [Mutation, number])[] = [
  [flipBits, 10],
  [overwriteRun, 6],
  [truncate, 10],
  [setField, 14],
  [swapLinkType, 4],
  [setBlockType, 5],
  [resizeUnit, 8],
  [duplicateUnit, 4],
  [deleteUnit, 4],
  [spliceUnit, 5],
  [insertBytes, 3],
  [deleteBytes, 3],
  [packetHeaderByte, 10],
  [craftBlock, 6],
  [randomFile, 2],
];

/**
 * Case `caseNumber` of the run seeded with `seed`: a fixture, one to four
 * mutations, two chunk sizes.
 *
 * @example
 * ```ts
 * import { pcapFuzzCase } from "./pcap_cases.ts";
 * const { fixture, mutations, bytes } = pcapFuzzCase(42, 17);
 * console.log(fixture, mutations.join("; "), bytes.length); // the same on every run
 * ```
 */
export function pcapFuzzCase(seed: number, caseNumber: number): PcapFuzzCase {
  const random = new SeededRandom(caseSeed(seed, caseNumber));
  const fixture = random.pick(Object.keys(PCAP_FIXTURES));
  const original = PCAP_FIXTURES[fixture];
  let bytes = original;
  const mutations: string[] = [];
  const wanted = random.weighted([[1, 5], [2, 3], [3, 1], [4, 1]]);
  for (let tries = 0; mutations.length < wanted && tries < 20; tries++) {
    const mutate = random.weighted(MUTATIONS);
    const result = mutate(random, bytes, captureLayout(bytes));
    if (!result || result[0].length > MAX_CASE_BYTES) continue;
    [bytes, mutations[mutations.length]] = result;
  }
  return {
    fixture,
    original,
    bytes: bytes === original ? original.slice() : bytes,
    mutations,
    chunkSizes: [random.weighted(CHUNK_SIZES), random.weighted(CHUNK_SIZES)],
  };
}

/**
 * One line that says what a case is, enough to see the defect at a glance;
 * {@linkcode pcapFuzzCase} with the run's seed and the case number rebuilds its bytes.
 *
 * @example
 * ```ts
 * import { describePcapCase, pcapFuzzCase } from "./pcap_cases.ts";
 * console.log(describePcapCase(pcapFuzzCase(42, 17)));
 * ```
 */
export function describePcapCase(testCase: PcapFuzzCase): string {
  const { fixture, mutations, bytes, chunkSizes: [a, b] } = testCase;
  const what = mutations.length > 0 ? mutations.join("; ") : "unchanged";
  return `${fixture}: ${what} (${bytes.length} bytes, read in chunks of ${a} and of ${b})`;
}
