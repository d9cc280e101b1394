/**
 * The external tools the kit may run, and how to get each one. Nothing
 * outside this list is ever started by the tool runner, whatever Deno's own
 * permissions would allow.
 *
 * Every process the kit starts goes through the runner, with a short list
 * of exceptions (`tests/layout_test.ts` holds it and fails on any other
 * `Deno.Command`):
 * - the learner's own programs, which are what is graded, not tools, and
 *   may be anything: `lib/check/target.ts` (a server from `--cmd` or
 *   `--file`) and `lib/check/client.ts` (a client from `--cmd` or `--file`;
 *   it also asks `ss`, or `cat /proc/net/tcp`, which ports listen, for the
 *   client's deny list, because `lib/check` sits below the runner);
 * - `deno check` on a practice attempt, `lib/practice/typecheck.ts`, and
 *   `deno info` on an attempt's imports, `lib/check/attempt_copy.ts`: the
 *   running Deno itself, on the learner's own file, as target.ts runs it;
 * - the server under test of the HTTP fuzzer, `lib/fuzz/http.ts` (the
 *   reference or a learner's `--cmd`), for the same reason;
 * - a kata's syscall-track reference, run in the foreground by
 *   `lib/kinds/syscall_track.ts` (Deno itself, on a kata's file);
 * - the servers under test of the benchmarks, `lib/bench/server_process.ts`
 *   (the references, their C builds, nginx, a `--cmd`), and the echo
 *   benchmark's own C load generator, `lib/bench/echo_load.ts`; wrk, nginx's
 *   presence check and taskset go through the runner;
 * - the capture benchmark, `lib/bench/pcap.ts`, and
 *   `lib/tools/process_stats.ts` (cat /proc/…), until they move onto the
 *   runner.
 *
 * @module
 */

/** What the kit knows about one tool. */
export interface ToolInfo {
  /** The program's name on PATH. */
  binary: string;
  /** What the kit uses it for, in a learner's words. */
  purpose: string;
  /** Does it need root (or capabilities) for what the kit does with it? */
  privileged: boolean;
  /** How to install it, per platform. */
  install: { debian: string; fedora: string; macos: string };
}

/** The registry: every tool the runner will start. */
export const TOOLS = {
  tcpdump: {
    binary: "tcpdump",
    purpose: "capture packets",
    privileged: true,
    install: {
      debian: "apt-get install tcpdump",
      fedora: "dnf install tcpdump",
      macos: "built in (or brew install tcpdump)",
    },
  },
  tshark: {
    binary: "tshark",
    purpose: "decode captures, to cross-check the kit's own reader",
    privileged: false,
    install: {
      debian: "apt-get install tshark",
      fedora: "dnf install wireshark-cli",
      macos: "brew install wireshark",
    },
  },
  iperf3: {
    binary: "iperf3",
    purpose: "measure TCP and UDP throughput",
    privileged: false,
    install: {
      debian: "apt-get install iperf3",
      fedora: "dnf install iperf3",
      macos: "brew install iperf3",
    },
  },
  curl: {
    binary: "curl",
    purpose: "check HTTP servers",
    privileged: false,
    install: {
      debian: "apt-get install curl",
      fedora: "dnf install curl",
      macos: "built in",
    },
  },
  nc: {
    binary: "nc",
    purpose: "open a listener and a client by hand",
    privileged: false,
    install: {
      debian: "apt-get install netcat-openbsd",
      fedora: "dnf install nmap-ncat",
      macos: "built in",
    },
  },
  ip: {
    binary: "ip",
    purpose: "make private network namespaces and virtual links",
    privileged: true,
    install: {
      debian: "apt-get install iproute2",
      fedora: "dnf install iproute",
      macos: "not available (labs need Linux)",
    },
  },
  nft: {
    binary: "nft",
    purpose: "drop packets on purpose (loss where netem is missing)",
    privileged: true,
    install: {
      debian: "apt-get install nftables",
      fedora: "dnf install nftables",
      macos: "not available (labs need Linux)",
    },
  },
  deno: {
    binary: "deno", // the running Deno itself (Deno.execPath()), see binaryOf()
    purpose: "run the kit's own probes inside a lab",
    privileged: false,
    install: {
      debian: "npm install -g deno",
      fedora: "npm install -g deno",
      macos: "brew install deno",
    },
  },
  nstat: {
    binary: "nstat",
    purpose: "read a lab's TCP counters (retransmissions of the kit's probe)",
    privileged: false,
    install: {
      debian: "apt-get install iproute2",
      fedora: "dnf install iproute",
      macos: "not available (labs need Linux)",
    },
  },
  tc: {
    binary: "tc",
    purpose: "shape traffic: loss, delay, rate",
    privileged: true,
    install: {
      debian: "apt-get install iproute2",
      fedora: "dnf install iproute-tc",
      macos: "not available (labs need Linux)",
    },
  },
  cc: {
    binary: "cc",
    purpose: "build the C references and the echo load generator",
    privileged: false,
    install: {
      debian: "apt-get install gcc libc6-dev",
      fedora: "dnf install gcc",
      macos: "xcode-select --install",
    },
  },
  ss: {
    binary: "ss",
    purpose: "find the process that listens on a port, to measure a server the checker did not start",
    privileged: false,
    install: {
      debian: "apt-get install iproute2",
      fedora: "dnf install iproute",
      macos: "not available (the measurement needs Linux)",
    },
  },
  wrk: {
    binary: "wrk",
    purpose: "load the HTTP servers in the benchmark",
    privileged: false,
    install: {
      debian: "apt-get install wrk",
      fedora: "dnf install wrk",
      macos: "brew install wrk",
    },
  },
  nginx: {
    binary: "nginx",
    purpose: "serve the same page as Kata 4 in the HTTP benchmark, for comparison",
    privileged: false,
    install: {
      debian: "apt-get install nginx",
      fedora: "dnf install nginx",
      macos: "brew install nginx",
    },
  },
  taskset: {
    binary: "taskset",
    purpose: "pin a benchmark's server and load generator to cores of their own",
    privileged: false,
    install: {
      debian: "apt-get install util-linux",
      fedora: "dnf install util-linux-core",
      macos: "not available (macOS cannot pin a process to a core)",
    },
  },
} as const satisfies Record<string, ToolInfo>;

/** A tool the runner may start. */
export type ToolName = keyof typeof TOOLS;

/** The program to start for `name`: the kit's own Deno for "deno", else the registry's binary. */
export function binaryOf(name: ToolName): string {
  return name === "deno" ? Deno.execPath() : TOOLS[name].binary;
}

/** Whether `name` is in the registry. */
export function isTool(name: string): name is ToolName {
  return Object.hasOwn(TOOLS, name);
}

/** One sentence on how to install `name` here. */
export function installHint(name: ToolName): string {
  const { install } = TOOLS[name];
  if (Deno.build.os === "darwin") return `macOS: ${install.macos}`;
  if (Deno.build.os === "linux") {
    return `Debian/Ubuntu: sudo ${install.debian}; Fedora: sudo ${install.fedora}`;
  }
  return `install ${TOOLS[name].binary} for your system`;
}
