/**
 * What the link emulator decides for each packet, one direction at a time,
 * without any I/O: so the decisions can be tested exactly, and the process
 * around them (./main.ts) only moves bytes.
 *
 * A packet goes through the same stages as in netem: loss (random, or
 * bursty with the Gilbert–Elliott model), then the bottleneck (a rate with a
 * bounded drop-tail queue: the packet leaves when the ones before it have
 * been serialised), then the propagation delay (fixed, plus jitter). Jitter
 * does not reorder packets unless asked: a packet never leaves before the
 * one in front of it, as on a real wire.
 *
 * @module
 */

/** Gilbert–Elliott bursty loss: two states, each with its own loss rate. */
export interface BurstLoss {
  /** Probability, per packet, of going from the good state to the bad one. */
  toBad: number;
  /** Probability, per packet, of going from the bad state back to the good one. */
  toGood: number;
  /** Loss rate in the bad state, 0 to 1. @default {1} */
  lossBad?: number;
  /** Loss rate in the good state, 0 to 1. @default {0} */
  lossGood?: number;
}

/** How one direction of the link behaves. Every field may be left out. */
export interface DirectionSettings {
  /** One-way delay, ms. @default {0} */
  delayMs?: number;
  /** Jitter: a uniform extra delay from 0 to this, ms. @default {0} */
  jitterMs?: number;
  /** Let jitter reorder packets (netem's behaviour); otherwise order is kept. @default {false} */
  reorder?: boolean;
  /** Random loss, per cent. @default {0} */
  lossPercent?: number;
  /** Bursty loss instead of random loss. */
  burst?: BurstLoss;
  /** Bottleneck rate, bits/s; unlimited when absent. */
  rateBps?: number;
  /** The bottleneck's queue, bytes: a packet that would make it longer is dropped (drop-tail). @default {150000} */
  queueBytes?: number;
  /**
   * UDP datagrams this short (UDP length, bytes) are never lost: iperf3's
   * set-up datagram lost would hang its run. The nftables path spares the
   * same (≤ 100). @default {0}
   */
  spareUdpUpTo?: number;
}

/** Whether `packet` (IPv4) is a UDP datagram of at most `length` bytes, UDP header included. */
export function isShortUdp(packet: Uint8Array, length: number): boolean {
  if (length <= 0 || packet.length < 28 || packet[0] >> 4 !== 4 || packet[9] !== 17) return false;
  const udp = (packet[0] & 0x0f) * 4;
  return packet.length >= udp + 8 && ((packet[udp + 4] << 8) | packet[udp + 5]) <= length;
}

/** Every decision taken, counted. */
export interface DirectionCounters {
  packets: number;
  bytes: number;
  droppedRandom: number;
  droppedBurst: number;
  droppedQueue: number;
  delivered: number;
  /** Packets the kernel refused when handed back (should stay 0). */
  writeFailed: number;
  /** The longest the bottleneck queue grew, bytes. */
  maxQueueBytes: number;
  /** How late packets left, summed and at worst, ms (a busy machine wakes the emulator late). */
  lateTotalMs: number;
  lateMaxMs: number;
}

/** A packet on its way, and when it leaves. */
interface Held {
  due: number;
  packet: Uint8Array;
}

/** A random number in [0, 1); Math.random by default, a seeded one in tests. */
export type Random = () => number;

/** A small, fast seeded generator (mulberry32), for repeatable runs. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** One direction of the emulated link: packets in, packets out when due. */
export class Direction {
  readonly counters: DirectionCounters = {
    packets: 0,
    bytes: 0,
    droppedRandom: 0,
    droppedBurst: 0,
    droppedQueue: 0,
    delivered: 0,
    writeFailed: 0,
    maxQueueBytes: 0,
    lateTotalMs: 0,
    lateMaxMs: 0,
  };
  /** Packets held, in the order they leave. */
  #held: Held[] = [];
  #head = 0;
  /** When the bottleneck finishes sending what it has (ms). */
  #busyUntil = 0;
  #lastDue = 0;
  #bad = false;

  constructor(readonly settings: DirectionSettings, private readonly random: Random = Math.random) {}

  /** Whether the packet is lost, by the random or the bursty model. */
  #lost(): "random" | "burst" | undefined {
    const burst = this.settings.burst;
    if (burst) {
      this.#bad = this.#bad ? this.random() >= burst.toGood : this.random() < burst.toBad;
      const rate = this.#bad ? burst.lossBad ?? 1 : burst.lossGood ?? 0;
      return this.random() < rate ? "burst" : undefined;
    }
    const percent = this.settings.lossPercent ?? 0;
    return percent > 0 && this.random() * 100 < percent ? "random" : undefined;
  }

  /** Takes a packet that arrived at `now` (ms); it is dropped or held until due. */
  accept(packet: Uint8Array, now: number): void {
    const counters = this.counters;
    counters.packets++;
    counters.bytes += packet.length;
    const lost = isShortUdp(packet, this.settings.spareUdpUpTo ?? 0) ? undefined : this.#lost();
    if (lost === "random") return void counters.droppedRandom++;
    if (lost === "burst") return void counters.droppedBurst++;
    let leaves = now;
    const rate = this.settings.rateBps;
    if (rate) {
      // What is still queued at the bottleneck, in bytes, from when it will be free.
      const queued = Math.max(0, this.#busyUntil - now) * rate / 8000;
      if (queued + packet.length > (this.settings.queueBytes ?? 150_000)) return void counters.droppedQueue++;
      counters.maxQueueBytes = Math.max(counters.maxQueueBytes, queued + packet.length);
      this.#busyUntil = Math.max(this.#busyUntil, now) + packet.length * 8000 / rate;
      leaves = this.#busyUntil;
    }
    let due = leaves + (this.settings.delayMs ?? 0) + this.random() * (this.settings.jitterMs ?? 0);
    if (!this.settings.reorder || !this.settings.jitterMs) {
      due = Math.max(due, this.#lastDue);
      this.#lastDue = due;
      this.#held.push({ due, packet });
      return;
    }
    this.#insertInOrder({ due, packet });
  }

  #insertInOrder(held: Held): void {
    let low = this.#head;
    let high = this.#held.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#held[middle].due <= held.due) low = middle + 1;
      else high = middle;
    }
    this.#held.splice(low, 0, held);
  }

  /** When the next packet is due (ms), or undefined when none is held. */
  nextDue(): number | undefined {
    return this.#held[this.#head]?.due;
  }

  /**
   * Hands every packet due by `now` to `send`, in order. `actual` is the
   * real time, for the lateness counters, where `now` reaches ahead of it.
   */
  release(now: number, send: (packet: Uint8Array) => boolean, actual = now): void {
    while (this.#head < this.#held.length && this.#held[this.#head].due <= now) {
      const { packet, due } = this.#held[this.#head++];
      const late = Math.max(0, actual - due);
      this.counters.lateTotalMs += late;
      this.counters.lateMaxMs = Math.max(this.counters.lateMaxMs, late);
      if (send(packet)) this.counters.delivered++;
      else this.counters.writeFailed++;
    }
    // Drop the released entries now and then, not on every packet (shift() is O(n)).
    if (this.#head > 1024 && this.#head * 2 > this.#held.length) {
      this.#held = this.#held.slice(this.#head);
      this.#head = 0;
    }
  }
}
