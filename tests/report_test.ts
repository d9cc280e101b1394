/**
 * lib/report's building blocks: terminal tables of any length, and the
 * buffered writers that put a million lines on stdout.
 */

import assert from "node:assert/strict";
import { formatTable } from "../lib/report/table.ts";
import { BufferedByteWriter, digitCount } from "../lib/report/buffered_writer.ts";
import { SeededRandom } from "../lib/fuzz/seeded_random.ts";

Deno.test("formatTable() pads every column to its widest cell, colour codes taking no room", () => {
  assert.equal(
    formatTable(["kata", "passes"], [["1", "3"], ["\x1b[32m22\x1b[0m", "0"]]),
    "kata  passes\n1     3\n\x1b[32m22\x1b[0m    0",
  );
});

Deno.test("formatTable() lays out 200 000 rows (an annotated capture) without running out of stack", () => {
  const rows = Array.from({ length: 200_000 }, (_, i) => [String(i), "x"]);
  const lines = formatTable(["#", "flag"], rows).split("\n");
  assert.equal(lines.length, 200_001);
  assert.equal(lines[0], "#       flag");
  assert.equal(lines.at(-1), "199999  x");
});

Deno.test("BufferedByteWriter.uint() writes every whole number up to 2^53 as String() does", () => {
  const out = new BufferedByteWriter(undefined, 64);
  const numbers = [0, 9, 10, 99, 100, 101, 65_535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32 + 65_535, 2 ** 53 - 1];
  for (let power = 1; power <= 1e15; power *= 10) numbers.push(power - 1, power, power + 1);
  const random = new SeededRandom(3);
  for (let i = 0; i < 2000; i++) numbers.push(random.uint32() * random.int(1, 2 ** 21) + random.int(0, 99));
  for (const n of numbers) {
    out.uint(n);
    assert.equal(out.take(), String(n));
    assert.equal(digitCount(n), String(n).length);
  }
  out.fixedDigits(7, 6);
  out.fixedDigits(123_456, 6);
  assert.equal(out.take(), "000007123456");
});

/** Resolves after one turn of the event loop (a message to ourselves), when unhandled rejections are reported. */
function eventLoopTurn(): Promise<void> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(0);
  });
}

/** A writer that takes at most `most` bytes a call, answers later, and records how many writes overlapped. */
function slowWriter(most: number) {
  const written: number[] = [];
  let inFlight = 0;
  let overlapped = 0;
  return {
    written,
    get overlapped() {
      return overlapped;
    },
    async write(bytes: Uint8Array): Promise<number> {
      if (++inFlight > 1) overlapped++;
      await Promise.resolve();
      const count = Math.min(most, bytes.length);
      written.push(...bytes.subarray(0, count));
      inFlight--;
      return count;
    },
  };
}

Deno.test("BufferedByteWriter writes every byte in order while it fills its other buffer, one write at a time", async () => {
  const writer = slowWriter(700);
  const out = new BufferedByteWriter(writer, 4096);
  let expected = "";
  for (let line = 0; line < 5000; line++) {
    const room = out.room(64);
    if (room) await room;
    out.ascii("line ");
    out.uint(line);
    out.byte(0x0a);
    expected += `line ${line}\n`;
  }
  await out.flush();
  assert.equal(new TextDecoder().decode(Uint8Array.from(writer.written)), expected);
  assert.equal(writer.overlapped, 0);
});

Deno.test("BufferedByteWriter reports a failed write at the next room() or flush(), never as an unhandled error", async () => {
  let calls = 0;
  const out = new BufferedByteWriter({
    write(bytes: Uint8Array) {
      calls++;
      return calls === 1 ? Promise.resolve(bytes.length) : Promise.reject(new Deno.errors.BrokenPipe("Broken pipe"));
    },
  }, 16);
  const fill = async () => {
    for (let i = 0; i < 100; i++) {
      const room = out.room(8);
      if (room) await room;
      out.ascii("12345678");
      // Other work meanwhile (reading the capture): the event loop turns while a write may fail.
      await eventLoopTurn();
    }
  };
  await assert.rejects(fill(), Deno.errors.BrokenPipe);
  await assert.rejects(out.flush(), Deno.errors.BrokenPipe);
  assert.ok(calls >= 2);
});
