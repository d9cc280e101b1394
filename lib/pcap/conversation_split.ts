/**
 * A capture's TCP conversations, told apart: which packets belong to which
 * connection, which steps of a whole conversation each one is missing, and
 * how it ended. A learner's capture often holds more than the conversation
 * the kata asks for: a first try refused because nothing listened yet, a
 * second run of the client, an ICMP error.
 *
 * @module
 */

import { type AnnotatedPacket, CONVERSATION_STEPS, missingSteps } from "./annotate.ts";

/** How a conversation ended, as far as the capture shows. */
export type Ending =
  /** FIN from each side, each acknowledged (whatever came before). */
  | "closed"
  /** A RST after the connection was made. */
  | "reset"
  /** The SYN was answered by RST: nothing listened on that port. */
  | "refused"
  /** Only SYNs, never answered (dropped, or rejected with ICMP). */
  | "unanswered"
  /** Still open when the capture stopped. */
  | "open";

/** One TCP conversation of a capture. */
export interface Conversation {
  /** "address:port" of the side that sent its first packet (normally the SYN), and of the other. */
  client: string;
  server: string;
  /** Its packets, in capture order. */
  packets: AnnotatedPacket[];
  /** The steps of a whole conversation ({@linkcode CONVERSATION_STEPS}) it lacks; empty when whole. */
  missing: string[];
  ending: Ending;
  /** The RST that ended it, when one did. */
  reset?: AnnotatedPacket;
}

const CLOSE_STEPS: readonly string[] = CONVERSATION_STEPS.slice(4);

/**
 * Splits the TCP packets of `packets` into conversations: by address and
 * port pair, and at a new SYN on a pair already used (ports are reused).
 *
 * @example
 * ```ts ignore
 * import { splitConversations } from "./conversation_split.ts";
 * for (const c of splitConversations(file.packets)) console.log(describeConversation(c));
 * ```
 */
export function splitConversations(packets: readonly AnnotatedPacket[]): Conversation[] {
  const groups: AnnotatedPacket[][] = [];
  const current = new Map<string, AnnotatedPacket[]>();
  for (const packet of packets) {
    if (packet.protocol !== "TCP") continue;
    const key = [packet.src, packet.dst].sort().join(" ");
    let group = current.get(key);
    // A SYN starts a new conversation, unless it repeats the one that
    // opened this one (a retransmission has the same sequence number).
    const newSyn = packet.label === "SYN" && group !== undefined &&
      group.some((other) => other.label !== "SYN" || other.seq !== packet.seq);
    if (!group || newSyn) {
      group = [];
      groups.push(group);
      current.set(key, group);
    }
    group.push(packet);
  }
  return groups.map(conversationOf);
}

function conversationOf(packets: AnnotatedPacket[]): Conversation {
  const first = packets[0];
  const client = first.direction === "→" ? first.src : first.dst;
  const server = first.direction === "→" ? first.dst : first.src;
  const missing = missingSteps(packets);
  const reset = packets.find((packet) => packet.label === "RST");
  let ending: Ending;
  if (reset) {
    const answered = packets.some((packet) => packet.label === "SYN-ACK");
    ending = !answered && reset.src === server && packets[0].label === "SYN" ? "refused" : "reset";
  } else if (!missing.some((step) => CLOSE_STEPS.includes(step))) {
    ending = "closed";
  } else if (packets.every((packet) => packet.label === "SYN")) {
    ending = "unanswered";
  } else {
    ending = "open";
  }
  return { client, server, packets, missing, ending, reset };
}

/**
 * Whether a conversation is whole: handshake and close, every step seen.
 * Data is the one step it may lack: a client with nothing to send opens and
 * closes a connection all the same (the seed's checklist: "first data
 * segment, if any").
 */
export function isWhole(conversation: Conversation): boolean {
  return conversation.missing.every((step) => step === "data");
}

/**
 * The conversation a capture kata grades: the first with every step, else
 * the first whole one without data, else the most nearly whole (the latest
 * of those: a learner's retry comes last). Undefined when there is no TCP
 * packet.
 */
export function gradedConversation(conversations: readonly Conversation[]): Conversation | undefined {
  const whole = conversations.find((conversation) => conversation.missing.length === 0) ?? conversations.find(isWhole);
  if (whole) return whole;
  return conversations.reduce<Conversation | undefined>(
    (best, conversation) => !best || conversation.missing.length <= best.missing.length ? conversation : best,
    undefined,
  );
}

/** Who sent `packet`, in the words of its conversation. */
export function sideOf(conversation: Conversation, packet: AnnotatedPacket): "client" | "server" {
  return packet.src === conversation.client ? "client" : "server";
}

/**
 * One line on a conversation: its endpoints, its packets and what became
 * of it, e.g. "127.0.0.1:37258 → 127.0.0.1:12345, #1–#2, refused: the SYN
 * was answered by RST".
 */
export function describeConversation(conversation: Conversation): string {
  const { packets, missing, ending } = conversation;
  const first = packets[0].number;
  const last = packets[packets.length - 1].number;
  const range = first === last ? `#${first}` : `#${first}–#${last}`;
  let state: string;
  if (missing.length === 0) state = "whole";
  else if (isWhole(conversation)) state = "whole, no data";
  else if (ending === "refused") state = "refused: the SYN was answered by RST";
  else if (ending === "unanswered") state = "no answer to the SYN";
  else if (ending === "reset") state = `reset by the ${sideOf(conversation, conversation.reset!)}`;
  else if (missing.includes("SYN")) state = `started before the capture: missing ${missing.join(", ")}`;
  else state = `cut short: missing ${missing.join(", ")}`;
  return `${conversation.client} → ${conversation.server}, ${range}, ${state}`;
}
