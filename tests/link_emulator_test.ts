/**
 * The kit's own link emulator (lib/lab/emulator): its decisions, exactly,
 * without any I/O; then for real, between two labs, the delay, rate and
 * loss measured from outside with a UDP ping and iperf3. The real tests
 * need root, ip, iperf3 and /dev/net/tun, and are ignored (with the reason)
 * without them. The longer, tighter measurements (±1 ms at three delays,
 * 5 % at two rates, ±1 point over 10 000 packets, the ceiling) are
 * `deno task link-check`.
 */

import assert from "node:assert/strict";
import { Direction, isShortUdp, seededRandom } from "../lib/lab/emulator/shaper.ts";
import { Lab } from "../lib/lab/lab.ts";
import { burstModel, LabPath } from "../lib/lab/path.ts";
import { iperfRun, startIperfServer } from "../lib/loss/iperf.ts";
import { labCounters, udpPingIn } from "../lib/loss/probe.ts";
import { hasProgram, isRoot, requires } from "./_support.ts";

/** Feeds `count` packets of `size` bytes, one every `gapMs`, and collects when each left. */
function run(direction: Direction, count: number, size: number, gapMs: number) {
  const left: { at: number; seq: number }[] = [];
  for (let seq = 0; seq < count; seq++) {
    const packet = new Uint8Array(size);
    new DataView(packet.buffer).setUint32(0, seq);
    const now = seq * gapMs;
    direction.release(now, (p) => left.push({ at: now, seq: new DataView(p.buffer).getUint32(0) }) > 0);
    direction.accept(packet, now);
  }
  // Let everything still held leave, at the moment each is due.
  for (let due = direction.nextDue(); due !== undefined; due = direction.nextDue()) {
    direction.release(due, (p) => left.push({ at: due, seq: new DataView(p.buffer).getUint32(0) }) > 0);
  }
  return left;
}

Deno.test("Direction delays every packet by the delay asked, in order", () => {
  const left = run(new Direction({ delayMs: 20 }), 100, 1000, 1);
  assert.equal(left.length, 100);
  left.forEach(({ at, seq }, i) => {
    assert.equal(seq, i);
    assert.equal(at, seq * 1 + 20);
  });
});

Deno.test("Direction's jitter keeps packets in order unless reordering is asked for", () => {
  const ordered = run(new Direction({ delayMs: 10, jitterMs: 8 }, seededRandom(1)), 500, 100, 0.5);
  assert.deepEqual(ordered.map(({ seq }) => seq), ordered.map((_, i) => i));
  const reordered = run(new Direction({ delayMs: 10, jitterMs: 8, reorder: true }, seededRandom(1)), 500, 100, 0.5);
  assert.equal(reordered.length, 500);
  assert.ok(reordered.some(({ seq }, i) => seq !== i), "no packet was reordered");
});

Deno.test("Direction paces packets at the rate asked and drops at the tail of a full queue", () => {
  // 1000-byte packets at 1 Mbit/s: one every 8 ms. Offered one every 4 ms, twice the rate.
  const direction = new Direction({ rateBps: 1e6, queueBytes: 10_000 });
  const left = run(direction, 200, 1000, 4);
  const gaps = left.slice(1).map(({ at }, i) => at - left[i].at);
  assert.ok(gaps.every((gap) => gap >= 8 - 1e-9), `a gap under 8 ms: ${Math.min(...gaps)}`);
  assert.equal(direction.counters.droppedQueue + left.length, 200);
  assert.ok(direction.counters.droppedQueue > 80, `only ${direction.counters.droppedQueue} dropped at twice the rate`);
  assert.ok(direction.counters.maxQueueBytes <= 10_000);
});

Deno.test("Direction loses the share of packets asked, within ±1 point over 10 000 packets", () => {
  for (const percent of [1, 5, 10]) {
    const direction = new Direction({ lossPercent: percent }, seededRandom(percent));
    const left = run(direction, 10_000, 100, 0.01);
    const lost = 100 - left.length / 100;
    assert.ok(Math.abs(lost - percent) <= 1, `asked ${percent}%, lost ${lost}%`);
    assert.equal(direction.counters.droppedRandom, 10_000 - left.length);
  }
});

Deno.test("Direction's Gilbert–Elliott loss comes in bursts of the length the model gives", () => {
  // Bad one packet in 101 on average (toBad / (toBad + toGood)), bursts of 1 / toGood = 4 packets.
  const direction = new Direction({ burst: { toBad: 0.0025, toGood: 0.25 } }, seededRandom(7));
  const left = new Set(run(direction, 40_000, 100, 0.001).map(({ seq }) => seq));
  const bursts: number[] = [];
  let length = 0;
  for (let seq = 0; seq < 40_000; seq++) {
    if (!left.has(seq)) length++;
    else if (length > 0) bursts.push(length), length = 0;
  }
  const mean = bursts.reduce((a, b) => a + b, 0) / bursts.length;
  assert.ok(mean > 3 && mean < 5, `mean burst ${mean.toFixed(2)} packets, the model says 4`);
  assert.equal(direction.counters.droppedBurst, 40_000 - left.size);
});

Deno.test("burstModel() gives Gilbert–Elliott parameters with the loss rate and mean burst asked", () => {
  assert.equal(burstModel(0, 4), undefined);
  assert.equal(burstModel(10), undefined);
  const direction = new Direction({ burst: burstModel(10, 4) }, seededRandom(3));
  const left = new Set(run(direction, 40_000, 100, 0.001).map(({ seq }) => seq));
  const lost = 100 * (1 - left.size / 40_000);
  assert.ok(Math.abs(lost - 10) <= 1, `lost ${lost.toFixed(2)}%, asked 10%`);
  const bursts: number[] = [];
  let length = 0;
  for (let seq = 0; seq < 40_000; seq++) {
    if (!left.has(seq)) length++;
    else if (length > 0) bursts.push(length), length = 0;
  }
  const mean = bursts.reduce((a, b) => a + b, 0) / bursts.length;
  assert.ok(Math.abs(mean - 4) < 0.5, `mean burst ${mean.toFixed(2)}, asked 4`);
});

Deno.test("isShortUdp() spares iperf3's small set-up datagrams, and nothing else", () => {
  const datagram = (protocol: number, udpLength: number) => {
    const packet = new Uint8Array(20 + udpLength);
    packet[0] = 0x45;
    packet[9] = protocol;
    new DataView(packet.buffer).setUint16(24, udpLength);
    return packet;
  };
  assert.equal(isShortUdp(datagram(17, 12), 100), true);
  assert.equal(isShortUdp(datagram(17, 208), 100), false);
  assert.equal(isShortUdp(datagram(6, 12), 100), false);
  assert.equal(isShortUdp(datagram(17, 12), 0), false);
});

const needs = requires("run", "read", "write", "ffi");
const ready = !needs.ignore && isRoot() && await hasProgram("ip", ["-V"]) &&
  await hasProgram("iperf3", ["--version"]);
const suffix = needs.suffix || (ready ? "" : " [ignored: needs root, ip and iperf3]");
const PROBE = decodeURIComponent(new URL("../katas/06-tcp-vs-udp/probe.ts", import.meta.url).pathname);

/** Two labs joined by the kit's emulator with `options`, loss `loss`; `measure` runs between them. */
async function throughEmulator<T>(
  options: { delayMs?: number; rateBps?: number; congestion?: string },
  loss: number,
  measure: (client: Lab, server: Lab) => Promise<T>,
) {
  await using client = await Lab.create("emu-c");
  await using server = await Lab.create("emu-s");
  await using path = await LabPath.open(client, server, { link: "kit", levelMs: 60_000, ...options });
  await path.setLoss(loss);
  const measured = await measure(client, server);
  return { measured, report: await path.endLevel() };
}

Deno.test({
  name: `the emulator delays: a 10 ms delay each way makes a 20 ms ping, ±1 ms${suffix}`,
  ignore: !ready,
  fn: async () => {
    const { measured } = await throughEmulator(
      { delayMs: 10 },
      0,
      (client, server) => udpPingIn(client, server, PROBE, { server: "198.18.0.2", count: 20 }),
    );
    assert.equal(measured.received, 20);
    assert.ok(Math.abs(measured.medianMs! - 20) <= 1, `median RTT ${measured.medianMs!.toFixed(2)} ms`);
    assert.ok(measured.minMs! >= 19.5, `a ping came back in ${measured.minMs!.toFixed(2)} ms`);
  },
});

Deno.test({
  name: `the emulator's rate: UDP offered at 2× a 10 Mbit/s bottleneck arrives at 10 Mbit/s, within 5%${suffix}`,
  ignore: !ready,
  fn: async () => {
    const { measured, report } = await throughEmulator({ rateBps: 10e6 }, 0, async (client, server) => {
      await using _server = await startIperfServer(server, "198.18.0.2", 20);
      return await iperfRun({ server: "198.18.0.2", protocol: "udp", seconds: 1, udpRate: "20M", lab: client });
    });
    // The bottleneck counts whole IP packets: 1400 bytes of payload ride in 1428.
    const expected = 10e6 * 1400 / 1428;
    // Over the receiver's own time: the queue drains for a while after the
    // sender stops, which the goodput over the sending time does not see.
    const arrived = measured.receiverRate!;
    assert.ok(
      Math.abs(arrived - expected) <= expected * 0.05,
      `${(arrived / 1e6).toFixed(2)} Mbit/s, expected ${(expected / 1e6).toFixed(2)}`,
    );
    assert.ok(report!.counters.forward.droppedQueue > 0, "nothing dropped at twice the rate");
  },
});

Deno.test({
  name: `the emulator loses the share asked: 10% of 2000 datagrams, ±2 points${suffix}`,
  ignore: !ready,
  fn: async () => {
    const { measured, report } = await throughEmulator({}, 10, async (client, server) => {
      await using _server = await startIperfServer(server, "198.18.0.2", 20);
      const before = await labCounters(server, ["UdpRcvbufErrors"]);
      // 200-byte datagrams, 2000 a second: no set-up datagram is that large, so every one may be lost.
      const run = await iperfRun({
        server: "198.18.0.2",
        protocol: "udp",
        seconds: 1,
        udpRate: "3.2M",
        udpLength: 200,
        lab: client,
      });
      const after = await labCounters(server, ["UdpRcvbufErrors"]);
      return { ...run, receiveBufferDrops: after.UdpRcvbufErrors - before.UdpRcvbufErrors };
    });
    const forward = report!.counters.forward;
    // The path's loss, as the sweep counts it: datagrams the receiver's own
    // full buffer dropped (it was not scheduled in time) are the machine's.
    const machine = (measured.receiveBufferDrops / 2000) * 100;
    const pathLoss = measured.lossPercent! - machine;
    assert.ok(
      Math.abs(pathLoss - 10) <= 2,
      `lost ${measured.lossPercent!.toFixed(1)}%, ${machine.toFixed(1)} points of it in the receiver's buffer; ` +
        `the emulator: ${JSON.stringify(forward)}`,
    );
    assert.ok(forward.droppedRandom > 0 && forward.droppedQueue === 0, JSON.stringify(forward));
  },
});

Deno.test({
  name: `the path's congestion control holds for a program that does not choose one${suffix}`,
  ignore: !ready,
  fn: async () => {
    // reno: surely not this system's default (bbr or cubic), and always built in.
    const { measured } = await throughEmulator({ congestion: "reno" }, 0, async (client, server) => {
      await using _server = await startIperfServer(server, "198.18.0.2", 20);
      return await iperfRun({ server: "198.18.0.2", protocol: "tcp", seconds: 1, lab: client });
    });
    assert.equal(measured.congestion, "reno");
  },
});
