/**
 * The pcap benchmark: the kit's reader and annotator against `tcpdump -nn
 * -r` and `tshark -T fields` on the same large capture, each writing its
 * full output to a file, side by side in one run.
 *
 * @module
 */

import { formatTable } from "../report/table.ts";
import { memory } from "../tools/process_stats.ts";

/** One contender's figures. */
export interface PcapMeasurement {
  name: string;
  command: string;
  seconds: number;
  packetsPerSecond: number;
  peakRss?: number;
  error?: string;
}

/**
 * Runs `argv` with stdout to `output`, and measures wall time and peak
 * memory (sampled from /proc every 200 ms: VmHWM only grows).
 */
async function measure(
  name: string,
  argv: string[],
  output: string,
  packets: number,
): Promise<PcapMeasurement> {
  const command = `${argv.join(" ")} > ${output}`;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return {
        name,
        command,
        seconds: 0,
        packetsPerSecond: 0,
        error: `${argv[0]} is not installed`,
      };
    }
    throw error;
  }
  const started = performance.now();
  const file = await Deno.open(output, {
    write: true,
    create: true,
    truncate: true,
  });
  const writing = child.stdout.pipeTo(file.writable);
  const stderr = new Response(child.stderr).text();
  let peak: number | undefined;
  let running = true;
  const sampling = (async () => {
    while (running) {
      const now = (await memory(child.pid)).peak;
      if (now !== undefined) peak = Math.max(peak ?? 0, now);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const status = await child.status;
  const seconds = (performance.now() - started) / 1000;
  running = false;
  await Promise.all([writing, sampling]);
  if (!status.success) {
    return {
      name,
      command,
      seconds,
      packetsPerSecond: 0,
      error: (await stderr).trim().split("\n").at(-1),
    };
  }
  return {
    name,
    command,
    seconds,
    packetsPerSecond: packets / seconds,
    peakRss: peak,
  };
}

/** Options for {@linkcode runPcapBench}. */
export interface PcapBenchOptions {
  capture: string;
  packets: number;
  outputDirectory: string;
  onMeasurement?: (measurement: PcapMeasurement) => void;
}

/** The same capture through the kit, tcpdump and tshark. */
export async function runPcapBench(
  options: PcapBenchOptions,
): Promise<PcapMeasurement[]> {
  const pcapTask = decodeURIComponent(
    new URL("../../tasks/pcap.ts", import.meta.url).pathname,
  );
  const contenders: [string, string[]][] = [
    ["netkata (deno task pcap)", [
      Deno.execPath(),
      "run",
      "--allow-read",
      pcapTask,
      options.capture,
      "--no-tshark",
    ]],
    ["tcpdump -nn -r", ["tcpdump", "-nn", "-r", options.capture]],
    ["tshark -T fields", [
      "tshark",
      "-r",
      options.capture,
      "-T",
      "fields",
      ...[
        "frame.number",
        "frame.time_relative",
        "ip.src",
        "tcp.srcport",
        "ip.dst",
        "tcp.dstport",
        "tcp.flags.str",
        "tcp.seq",
        "tcp.ack",
        "tcp.len",
      ]
        .flatMap((field) => ["-e", field]),
    ]],
  ];
  const results: PcapMeasurement[] = [];
  for (const [name, argv] of contenders) {
    const output = `${options.outputDirectory}/${name.split(" ")[0]}.txt`;
    const result = await measure(name, argv, output, options.packets);
    results.push(result);
    options.onMeasurement?.(result);
  }
  return results;
}

/** The figures as a table, with the kit's speed against each of the others. */
export function formatPcapBench(
  results: readonly PcapMeasurement[],
  packets: number,
): string {
  const ours = results[0];
  return `${packets.toLocaleString("en-US")} packets\n` + formatTable(
    ["tool", "seconds", "packets/s", "peak RSS", "netkata is"],
    results.map((r) =>
      r.error ? [r.name, `error: ${r.error}`, "", "", ""] : [
        r.name,
        r.seconds.toFixed(2),
        Math.round(r.packetsPerSecond).toLocaleString("en-US"),
        r.peakRss === undefined ? "–" : `${(r.peakRss / 2 ** 20).toFixed(0)} MiB`,
        r === ours || ours.error ? "" : `${(r.seconds / ours.seconds).toFixed(2)}× as fast`,
      ]
    ),
  );
}
