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
import { TunDevice, Waiter } from "./tun.ts";

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
/** How long to wait for a packet when nothing is held. */
const IDLE_WAIT_MS = 200;

function drain(device: TunDevice, direction: Direction, buffer: Uint8Array, now: number): void {
  for (let i = 0; i < BATCH; i++) {
    const length = device.read(buffer);
    if (length === 0) return;
    direction.accept(buffer.slice(0, length), now);
  }
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
  while (!stopped()) {
    const next = Math.min(forward.nextDue() ?? Infinity, reverse.nextDue() ?? Infinity);
    await waiter.wait(next === Infinity ? IDLE_WAIT_MS : Math.max(0, next - performance.now() - LEAD_MS));
    const now = performance.now();
    drain(a, forward, buffer, now);
    drain(b, reverse, buffer, now);
    const later = performance.now() + LEAD_MS;
    forward.release(later, (packet) => b.write(packet));
    reverse.release(later, (packet) => a.write(packet));
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
    using a = TunDevice.open(values.a);
    using b = TunDevice.open(values.b);
    let stopping = false;
    for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => stopping = true);
    console.log(`${READY}: ${a.name} ⇄ ${b.name}`);
    const started = performance.now();
    const counters = await forwardUntil(a, b, config, values.seed ? Number(values.seed) : undefined, () => stopping);
    const cpu = process.cpuUsage();
    console.log(JSON.stringify({
      counters,
      seconds: (performance.now() - started) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    }));
    Deno.exit(0);
  } catch (error) {
    console.error(`link emulator: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
