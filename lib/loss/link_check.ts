/**
 * `deno task link-check`: the shaped path measured from outside, against
 * what was asked: the round trip at three delays (±1 ms), the rate at two
 * bottlenecks (within 5 %), loss over 10 000 datagrams (±1 point), and the
 * ceiling of the path with nothing asked (Mbit/s, packets/s, the
 * emulator's CPU). The suite has one short real test of each; this is the
 * long, tight version, run on purpose.
 *
 * @module
 */

import type { EmulatorReport } from "../lab/emulator.ts";
import { Lab } from "../lab/lab.ts";
import { LabPath, type LinkKind } from "../lab/path.ts";
import { formatTable } from "../report/table.ts";
import { type IperfOptions, iperfRun, startIperfServer } from "./iperf.ts";
import { labCounters, udpPingIn } from "./probe.ts";
import { formatRate } from "./report.ts";

const PROBE = decodeURIComponent(new URL("../../katas/06-tcp-vs-udp/probe.ts", import.meta.url).pathname);
const SERVER = "198.18.0.2";

/** One measurement against its target. */
interface Check {
  what: string;
  asked: string;
  measured: string;
  passed: boolean;
}

/** A path shaped with `shape`, loss `loss`; `measure` runs between its ends. */
async function onPath<T>(
  link: LinkKind | "auto",
  shape: { delayMs?: number; rateBps?: number },
  loss: number,
  measure: (client: Lab, server: Lab) => Promise<T>,
): Promise<{ measured: T; report?: EmulatorReport }> {
  await using client = await Lab.create("linkcheck-c");
  await using server = await Lab.create("linkcheck-s");
  await using path = await LabPath.open(client, server, { link, levelMs: 120_000, ...shape });
  await path.setLoss(loss);
  const measured = await measure(client, server);
  return { measured, report: await path.endLevel() };
}

const iperf = (options: Omit<IperfOptions, "server" | "lab">) => async (client: Lab, server: Lab) => {
  await using _server = await startIperfServer(server, SERVER, 30);
  return await iperfRun({ ...options, server: SERVER, lab: client });
};

async function delays(link: LinkKind | "auto"): Promise<Check[]> {
  const checks: Check[] = [];
  for (const rttMs of [10, 50, 100, 200]) {
    const { measured } = await onPath(
      link,
      { delayMs: rttMs / 2 },
      0,
      (client, server) => udpPingIn(client, server, PROBE, { server: SERVER, count: 100 }),
    );
    const median = measured.medianMs ?? NaN;
    checks.push({
      what: "round trip (median of 100 UDP pings)",
      asked: `${rttMs} ms (delay ${rttMs / 2} ms each way)`,
      measured: `${median.toFixed(2)} ms (min ${measured.minMs?.toFixed(2)}, max ${measured.maxMs?.toFixed(2)})`,
      passed: Math.abs(median - rttMs) <= 1,
    });
  }
  return checks;
}

async function rates(link: LinkKind | "auto"): Promise<Check[]> {
  const checks: Check[] = [];
  for (const rateBps of [10e6, 100e6]) {
    // The bottleneck counts whole IP packets: payload is 1400 of 1428 bytes for UDP, 1448 of 1500 for TCP.
    const udp = await onPath(link, { rateBps }, 0, iperf({ protocol: "udp", seconds: 3, udpRate: `${rateBps * 1.5}` }));
    const udpExpected = rateBps * 1400 / 1428;
    checks.push({
      what: "UDP through the bottleneck, offered 1.5×",
      asked: formatRate(rateBps),
      measured: `${formatRate(udp.measured.goodput)} (payload; ${formatRate(udpExpected)} expected)`,
      passed: Math.abs(udp.measured.goodput - udpExpected) <= udpExpected * 0.05,
    });
    // 5 s: cubic's first second (slow start, its overshoot into the queue) weighs less.
    const tcp = await onPath(link, { rateBps }, 0, iperf({ protocol: "tcp", seconds: 5, congestion: "cubic" }));
    const tcpExpected = rateBps * 1448 / 1500;
    checks.push({
      what: "TCP (cubic) through the bottleneck",
      asked: formatRate(rateBps),
      measured: `${formatRate(tcp.measured.goodput)} (payload; ${formatRate(tcpExpected)} expected)`,
      passed: Math.abs(tcp.measured.goodput - tcpExpected) <= tcpExpected * 0.05,
    });
  }
  return checks;
}

async function losses(link: LinkKind | "auto"): Promise<Check[]> {
  const checks: Check[] = [];
  for (const percent of [1, 5, 10]) {
    // 200-byte datagrams at 8 Mbit/s for 2.5 s: about 10 000 of them, as iperf3 paces them here.
    const { measured, report } = await onPath(link, {}, percent, async (client, server) => {
      const before = await labCounters(server, ["UdpRcvbufErrors"]);
      const result = await iperf({ protocol: "udp", seconds: 2.5, udpRate: "8M", udpLength: 200 })(client, server);
      const after = await labCounters(server, ["UdpRcvbufErrors"]);
      return { ...result, receiveBufferDrops: after.UdpRcvbufErrors - before.UdpRcvbufErrors };
    });
    // What a receiver not scheduled in time dropped from its full buffer is the machine's loss, not the path's.
    const path = (measured.lossPercent ?? NaN) - 100 * measured.receiveBufferDrops / (measured.datagrams ?? NaN);
    const forward = report?.counters.forward;
    checks.push({
      what: `UDP datagrams lost (iperf3, ${measured.datagrams} sent)`,
      asked: `${percent}%`,
      measured: `${path.toFixed(2)}% on the path (iperf3 saw ${
        measured.lossPercent?.toFixed(2)
      }%, ${measured.receiveBufferDrops} dropped by the receiver's full buffer)${
        forward ? `; the emulator dropped ${forward.droppedRandom} of ${forward.packets}` : ""
      }`,
      passed: Math.abs(path - percent) <= 1,
    });
  }
  return checks;
}

async function ceiling(link: LinkKind | "auto"): Promise<Check[]> {
  const { measured, report } = await onPath(link, {}, 0, iperf({ protocol: "tcp", seconds: 5, congestion: "cubic" }));
  const packets = report ? report.counters.forward.packets + report.counters.reverse.packets : undefined;
  return [{
    what: "ceiling: TCP (cubic) with nothing asked",
    asked: "–",
    measured: `${formatRate(measured.goodput)}${
      report
        ? `; ${Math.round(packets! / report.seconds)} packets/s both ways; emulator CPU ${
          (100 * report.cpuSeconds / report.seconds).toFixed(0)
        }% of one core; ${measured.retransmits} retransmits, ${
          report.kernelDrops ? report.kernelDrops.first + report.kernelDrops.second : "?"
        } dropped by the kernel before the emulator read them`
        : ""
    }`,
    passed: true,
  }];
}

/**
 * Runs the checks and prints them; returns the exit status, 1 when one
 * missed its target.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await linkCheck({ link: "kit" }));
 * ```
 */
export async function linkCheck(options: { link: "netem" | "kit"; json?: boolean }): Promise<number> {
  const { link } = options;
  const checks: Check[] = [];
  for (const part of [delays, rates, losses, ceiling]) checks.push(...await part(link));
  if (options.json) console.log(JSON.stringify({ link, checks }, null, 2));
  else {
    console.log(formatTable(
      ["what", "asked", "measured", ""],
      checks.map((check) => [check.what, check.asked, check.measured, check.passed ? "ok" : "MISSED"]),
    ));
  }
  return checks.every((check) => check.passed) ? 0 : 1;
}
