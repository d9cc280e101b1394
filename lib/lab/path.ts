/**
 * The path between two labs, shaped: one-way delay, jitter, a bottleneck
 * rate and loss, by whichever means this machine has, and never silently
 * less than asked. netem where the kernel has it; the kit's own link
 * emulator (TUN, ./emulator.ts) where it does not; nftables for loss alone,
 * when asked for. Which means each option took is recorded.
 *
 * @example
 * ```ts ignore
 * await using path = await LabPath.open(client, server, { link: "auto", delayMs: 20, rateBps: 100e6, levelMs: 60_000 });
 * await path.setLoss(1);
 * // … measure …
 * const counters = await path.endLevel();
 * ```
 *
 * @module
 */

import { ToolError } from "../tools/runner.ts";
import { type BurstLoss, type EmulatedLink, emulatedLink, type EmulatorReport } from "./emulator.ts";
import { type Lab, LabUnavailable } from "./lab.ts";
import { linkLabs } from "./link.ts";
import { applyNftLoss } from "./loss.ts";

/** The signal of a path that cannot break mid-level. */
const NEVER = new AbortController().signal;

/** How the path is made: netem on a veth, the kit's emulator over TUN, or nftables loss on a veth. */
export type LinkKind = "netem" | "kit" | "nftables";

/** Options for {@linkcode LabPath.open}. */
export interface PathOptions {
  /** Who shapes; "auto" is netem where the kernel has it, the kit's emulator otherwise. @default {"auto"} */
  link?: LinkKind | "auto";
  /** One-way delay, ms, each direction. @default {0} */
  delayMs?: number;
  /** Jitter, ms, each direction (without reordering). @default {0} */
  jitterMs?: number;
  /** Bottleneck rate, bits/s, each direction; none when absent. */
  rateBps?: number;
  /**
   * Bursty loss (Gilbert–Elliott) with bursts of this many packets on
   * average, at the same overall loss rate; random loss when absent.
   */
  burstPackets?: number;
  /** The bottleneck's queue, bytes (the kit's emulator). @default {150000} */
  queueBytes?: number;
  /**
   * TCP congestion control for every connection between the labs, whatever
   * the program (a route's `congctl`: no sysctl needed, and it holds for
   * the kit's probe, which cannot choose its own). The system's default
   * when absent.
   */
  congestion?: string;
  /** How long one loss level may take at most: the emulator's time limit. */
  levelMs: number;
  /** Addresses of the two ends. @default {["198.18.0.1", "198.18.0.2"]} */
  addresses?: [string, string];
}

/** Which means each option took, in words for the record: `{ delay: "kit", rate: "kit", loss: "kit" }`. */
export type Applied = Partial<Record<"delay" | "jitter" | "rate" | "loss" | "bursty loss", LinkKind>>;

/** One shaped path between a client lab and a server lab. */
export class LabPath implements AsyncDisposable {
  #emulator?: EmulatedLink;
  #veth?: { first: string; second: string };

  private constructor(
    readonly client: Lab,
    readonly server: Lab,
    readonly kind: LinkKind,
    readonly options: PathOptions,
  ) {}

  /**
   * Builds the path. Throws {@linkcode LabUnavailable}, in one sentence,
   * when the means asked for is missing (netem on a kernel without it) or
   * cannot do what is asked (nftables has no delay or rate).
   */
  static async open(client: Lab, server: Lab, options: PathOptions): Promise<LabPath> {
    const wanted = options.link ?? "auto";
    const netem = wanted === "kit" || wanted === "nftables" ? false : await hasNetem(client);
    if (wanted === "netem" && !netem) {
      throw new LabUnavailable("This kernel has no netem (sch_netem): use --link kit, the kit's own link emulator");
    }
    const kind: LinkKind = wanted === "auto" ? (netem ? "netem" : "kit") : wanted;
    if (kind === "nftables" && (options.delayMs || options.jitterMs || options.rateBps || options.burstPackets)) {
      throw new LabUnavailable(
        "nftables only drops packets at random: delay, jitter, rate and bursty loss need --link kit or netem",
      );
    }
    const path = new LabPath(client, server, kind, options);
    if (kind !== "kit") {
      const [first, second] = options.addresses ?? ["198.18.0.1", "198.18.0.2"];
      const link = await linkLabs(client, server, { first, second });
      path.#veth = { first: link.first.device, second: link.second.device };
      await path.#setCongestion(link.first.device, link.second.device);
    }
    return path;
  }

  /**
   * Aborted, with a {@linkcode ToolError} saying why, when the path breaks
   * before the level ends: the kit's emulator stopped by itself, and the
   * labs' addresses went with its devices. Pass it to every run over the
   * path, so that such a run ends at once instead of at its time limit.
   * A veth path never breaks this way: its signal never aborts.
   */
  get lost(): AbortSignal {
    return this.#emulator?.lost ?? NEVER;
  }

  /** What the learner should know about how it was applied, or undefined. */
  get notice(): string | undefined {
    if (this.kind === "netem" && this.options.jitterMs) {
      return "netem's jitter reorders packets (its queue sorts by departure time); the kit's emulator keeps their order";
    }
    return undefined;
  }

  /** Which means took each option asked for. */
  get applied(): Applied {
    const { delayMs, jitterMs, rateBps } = this.options;
    return {
      ...(delayMs ? { delay: this.kind } : {}),
      ...(jitterMs ? { jitter: this.kind } : {}),
      ...(rateBps ? { rate: this.kind } : {}),
      ...(this.options.burstPackets ? { "bursty loss": this.kind } : { loss: this.kind }),
    };
  }

  /** Loss from now on, per cent, each direction (data one way, ACKs the other). */
  async setLoss(percent: number): Promise<void> {
    if (this.kind === "kit") {
      await this.#emulator?.stop();
      const { delayMs, jitterMs, rateBps, queueBytes } = this.options;
      const burst = burstModel(percent, this.options.burstPackets);
      const direction = {
        delayMs,
        jitterMs,
        rateBps,
        queueBytes,
        spareUdpUpTo: 100,
        ...burst ? { burst } : { lossPercent: percent },
      };
      const [first, second] = this.options.addresses ?? ["198.18.0.1", "198.18.0.2"];
      this.#emulator = await emulatedLink(this.client, this.server, {
        config: { forward: direction, reverse: direction },
        lifetimeMs: this.options.levelMs,
        first,
        second,
      });
      await this.#setCongestion(this.#emulator.first.device, this.#emulator.second.device);
      return;
    }
    const ends = [[this.client, this.#veth!.first], [this.server, this.#veth!.second]] as const;
    for (const [lab, device] of ends) {
      if (this.kind === "nftables") await applyNftLoss(lab, percent);
      else await applyNetem(lab, device, percent, this.options);
    }
  }

  /** Puts the congestion control asked for on the route between the labs, on both sides. */
  async #setCongestion(clientDevice: string, serverDevice: string): Promise<void> {
    const congestion = this.options.congestion;
    if (!congestion) return;
    const [first, second] = this.options.addresses ?? ["198.18.0.1", "198.18.0.2"];
    for (
      const [lab, device, address] of [[this.client, clientDevice, first], [this.server, serverDevice, second]] as const
    ) {
      const network = `${address.split(".").slice(0, 3).join(".")}.0/24`;
      await lab.run("ip", ["route", "replace", network, "dev", device, "src", address, "congctl", congestion]);
    }
  }

  /** Ends a level: the emulator's counters for it, where the kit's emulator ran it. */
  async endLevel(): Promise<EmulatorReport | undefined> {
    const report = await this.#emulator?.stop();
    this.#emulator = undefined;
    return report;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.endLevel();
  }
}

/** Whether the kernel has netem: asked of `lab`'s loopback, which is put back as it was. */
async function hasNetem(lab: Lab): Promise<boolean> {
  try {
    await lab.run("tc", ["qdisc", "add", "dev", "lo", "root", "netem", "delay", "0ms"]);
  } catch (error) {
    if (error instanceof ToolError && /qdisc kind is unknown|No such file/.test(error.message)) return false;
    throw error;
  }
  await lab.run("tc", ["qdisc", "del", "dev", "lo", "root"]);
  return true;
}

/**
 * Gilbert–Elliott parameters for `percent` loss in bursts of `burstPackets`
 * on average: every packet in the bad state is lost, none in the good one;
 * the bad state lasts 1/toGood packets, and is entered often enough that
 * toBad / (toBad + toGood) of the packets fall in it.
 */
export function burstModel(percent: number, burstPackets?: number): BurstLoss | undefined {
  if (!burstPackets || percent <= 0) return undefined;
  const loss = Math.min(percent / 100, 0.99);
  const toGood = 1 / burstPackets;
  return { toBad: (loss * toGood) / (1 - loss), toGood, lossBad: 1, lossGood: 0 };
}

async function applyNetem(lab: Lab, device: string, percent: number, options: PathOptions): Promise<void> {
  const burst = burstModel(percent, options.burstPackets);
  const netem = burst
    ? ["loss", "gemodel", `${burst.toBad * 100}%`, `${burst.toGood * 100}%`, "100%", "0%"]
    : ["loss", `${percent}%`];
  if (options.delayMs || options.jitterMs) {
    netem.push("delay", `${options.delayMs ?? 0}ms`);
    if (options.jitterMs) netem.push(`${options.jitterMs}ms`);
  }
  if (options.rateBps) netem.push("rate", `${Math.round(options.rateBps)}bit`);
  await lab.run("tc", ["qdisc", "replace", "dev", device, "root", "netem", ...netem]);
}
