/**
 * The kit's own link emulator, for kernels without netem: a process that
 * makes two TUN devices, reads every packet sent into one, and writes it out
 * of the other when its time comes, or never (lost). Started by
 * ../emulator.ts inside the client's namespace, which then moves device B
 * into the server's namespace: the device keeps working there, and the
 * process stays in the lab, where the stale-lab cleanup finds it.
 *
 *   deno run --allow-ffi main.ts --a nkeaNNN --b nkebNNN --config '{"forward":{…},"reverse":{…}}' [--seed N]
 *
 * `forward` shapes A → B (client to server), `reverse` B → A, each a
 * DirectionSettings (./shaper.ts). It prints one line when the devices
 * exist, and one JSON line of counters when it stops (SIGINT or SIGTERM).
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { Direction, type DirectionSettings, seededRandom } from "./shaper.ts";
import { raisePriority, TunDevice, Waiter } from "./tun.ts";

/** What the emulator is asked to do. */
export interface EmulatorConfig {
  forward: DirectionSettings;
  reverse: DirectionSettings;
}

/** The line printed once both devices exist. */
export const READY = "link emulator ready";

/** Packets read from one device before the other gets its turn. */
const BATCH = 256;
/**
 * Waking up takes time (the wait ends on another thread, then the event
 * loop runs this code): about 0.1–0.3 ms. So the wait ends this much before
 * the next packet is due, and packets due within it leave now: at most this
 * early, instead of always later. Measured: a 40 ms round trip came out
 * 41.2 ms without it.
 */
const LEAD_MS = 0.15;
/**
 * The wait blocks the event loop (see ./tun.ts), so the signals that stop
 * the emulator are only heard when it yields: at least this often.
 */
const YIELD_EVERY_MS = 50;

/** The longest gap arrivals are spread over (a machine that stalls longer than this is hopeless). */
const MAX_SPREAD_MS = 50;

/**
 * Reads what `device` has and hands it to `direction`. Arrival times are
 * not ours to see: packets that came while the emulator was busy, or not
 * scheduled on a loaded machine, waited in the device's queue and are read
 * together. Taken as arriving all at once, they would overflow the
 * bottleneck's queue while its link had idled (measured: 94–96 Mbit/s
 * through a 100 Mbit/s bottleneck on a loaded machine). So several packets
 * read at once are spread evenly over the time the bottleneck needs to send
 * them (never further back than the previous read): the rate holds, and a
 * real burst leaves at most its own sending time early.
 */
function drain(device: TunDevice, direction: Direction, buffer: Uint8Array, drained: number, now: number): void {
  const packets: Uint8Array[] = [];
  for (let length; packets.length < BATCH && (length = device.read(buffer)) > 0;) packets.push(buffer.slice(0, length));
  const rate = direction.settings.rateBps;
  const bytes = packets.reduce((sum, packet) => sum + packet.length, 0);
  const spread = packets.length > 1 && rate ? Math.min(bytes * 8000 / rate, now - drained, MAX_SPREAD_MS) : 0;
  packets.forEach((packet, i) => direction.accept(packet, now - spread + spread * (i + 1) / packets.length));
}

/** Moves packets between `a` and `b` until `stopped()` says so. */
async function forwardUntil(
  a: TunDevice,
  b: TunDevice,
  config: EmulatorConfig,
  seed: number | undefined,
  stopped: () => boolean,
) {
  const random = seed === undefined ? Math.random : seededRandom(seed);
  const forward = new Direction(config.forward, random);
  const reverse = new Direction(config.reverse, random);
  const waiter = new Waiter([a, b]);
  const buffer = new Uint8Array(65_536);
  let drained = performance.now();
  let yielded = drained;
  while (!stopped()) {
    const next = Math.min(forward.nextDue() ?? Infinity, reverse.nextDue() ?? Infinity);
    const untilYield = yielded + YIELD_EVERY_MS - drained;
    waiter.wait(Math.max(0, Math.min(untilYield, next - performance.now() - LEAD_MS)));
    const now = performance.now();
    drain(a, forward, buffer, drained, now);
    drain(b, reverse, buffer, drained, now);
    drained = performance.now();
    const later = drained + LEAD_MS;
    forward.release(later, (packet) => b.write(packet), drained);
    reverse.release(later, (packet) => a.write(packet), drained);
    if (drained - yielded >= YIELD_EVERY_MS) {
      // A macrotask: lets the event loop deliver SIGINT and SIGTERM.
      await new Promise((resolve) => setTimeout(resolve, 0));
      yielded = performance.now();
    }
  }
  return { forward: forward.counters, reverse: reverse.counters };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { a: { type: "string" }, b: { type: "string" }, config: { type: "string" }, seed: { type: "string" } },
  });
  try {
    if (!values.a || !values.b || !values.config) throw new TypeError("Usage: main.ts --a DEV --b DEV --config JSON");
    const config = JSON.parse(values.config) as EmulatorConfig;
    // The thread that waits and moves every packet is this one. Without root it is refused, and runs as it is.
    const priority = raisePriority();
    using a = TunDevice.open(values.a);
    using b = TunDevice.open(values.b);
    let stopping = false;
    for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => stopping = true);
    console.log(`${READY}: ${a.name} ⇄ ${b.name} (scheduling priority: ${priority})`);
    const started = performance.now();
    const counters = await forwardUntil(a, b, config, values.seed ? Number(values.seed) : undefined, () => stopping);
    const cpu = process.cpuUsage();
    console.log(JSON.stringify({
      counters,
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      priority,
    }));
    Deno.exit(0);
  } catch (error) {
    console.error(`link emulator: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
