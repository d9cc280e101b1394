/**
 * Joining two labs with a virtual cable (a veth pair) made inside them, so
 * the host's own interfaces never change. A veth has a normal 1500-byte MTU,
 * so segments have the sizes they have on a real network (loopback's 64 KiB
 * MTU would make every segment huge).
 *
 * @module
 */

import { type Lab, LabUnavailable } from "./lab.ts";

/** Addresses for the two ends. Use 198.18.0.0/15 (RFC 2544, benchmarks). */
export interface LinkOptions {
  /** Address of the first lab's end. @default {"198.18.0.1"} */
  first?: string;
  /** Address of the second lab's end. @default {"198.18.0.2"} */
  second?: string;
  /** Prefix length. @default {24} */
  prefix?: number;
}

/** Both ends' interface names and addresses. */
export interface Link {
  first: { lab: Lab; device: string; address: string };
  second: { lab: Lab; device: string; address: string };
}

/**
 * Creates a veth pair with one end in each lab, addresses it and brings
 * both ends up. The pair disappears with either namespace.
 */
export async function linkLabs(
  first: Lab,
  second: Lab,
  options: LinkOptions = {},
): Promise<Link> {
  if (first.namespace === undefined || second.namespace === undefined) {
    throw new LabUnavailable("A link joins two private network namespaces; a host fallback has none");
  }
  // Interface names are at most 15 characters; the pid keeps them unique.
  const suffix = String(Deno.pid % 100_000);
  const a = {
    lab: first,
    device: `nka${suffix}`,
    address: options.first ?? "198.18.0.1",
  };
  const b = {
    lab: second,
    device: `nkb${suffix}`,
    address: options.second ?? "198.18.0.2",
  };
  const prefix = options.prefix ?? 24;
  // Made inside the first namespace with its peer placed straight into the
  // second: at no moment does either end exist on the host.
  await first.run("ip", [
    "link",
    "add",
    a.device,
    "type",
    "veth",
    "peer",
    "name",
    b.device,
    "netns",
    second.namespace,
  ]);
  for (const end of [a, b]) {
    await end.lab.run("ip", [
      "addr",
      "add",
      `${end.address}/${prefix}`,
      "dev",
      end.device,
    ]);
    await end.lab.run("ip", ["link", "set", end.device, "up"]);
  }
  return { first: a, second: b };
}
