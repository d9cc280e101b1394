/**
 * Whether a capture holds one whole TCP conversation: SYN, SYN-ACK, the
 * ACK that completes the handshake, data, a FIN each way and the ACK of
 * each. Checked as packets stream past, so a capture of any length is
 * checked without keeping its packets.
 *
 * @module
 */

import { type AnnotatedPacket, type Annotation, Meaning, type PacketLabel, TCP_SEGMENT } from "./annotation.ts";
import { conversationKey, KEY_WORDS } from "./conversations.ts";

/** The steps of a whole conversation, in the order they happen. */
export const CONVERSATION_STEPS = [
  "SYN",
  "SYN-ACK",
  "ACK completing the handshake",
  "data",
  "FIN from one side",
  "ACK of that FIN",
  "FIN from the other side",
  "last ACK",
] as const;

/** A FIN of the first conversation: who sent it, and the relative ack that acknowledges it. */
interface Fin {
  number: number;
  fromClient: boolean;
  acknowledgedAt: number;
  acknowledged: boolean;
}

/**
 * Which steps of one whole TCP conversation (the first one seen) are
 * missing, from packets given one at a time in capture order: a capture of
 * any length is checked without keeping its packets. Packets come as
 * objects ({@linkcode add}) or as the annotator's reused annotation
 * ({@linkcode addAnnotation}), which makes no object.
 */
export class ConversationSteps {
  #key: string | undefined;
  #keyWords: Int32Array | undefined;
  readonly #scratchKey = new Int32Array(KEY_WORDS);
  #seen = new Set<typeof CONVERSATION_STEPS[number]>();
  #firstFin: Fin | undefined;
  #secondFin: Fin | undefined;

  add(p: AnnotatedPacket): void {
    if (p.protocol !== "TCP") return;
    const key = [p.src, p.dst].sort().join(" ");
    this.#key ??= key;
    if (key !== this.#key) return;
    this.#step(
      p.number,
      p.label,
      p.meaning.includes("handshake is complete"),
      p.length,
      p.direction === "→",
      p.relativeSeq ?? 0,
      p.relativeAck ?? 0,
    );
  }

  addAnnotation(a: Annotation): void {
    if (a.kind !== TCP_SEGMENT) return;
    // The same conversation: the same endpoints, whichever way (as the sorted strings of add()).
    conversationKey(a.fields, this.#scratchKey);
    this.#keyWords ??= this.#scratchKey.slice();
    for (let w = 0; w < KEY_WORDS; w++) if (this.#keyWords[w] !== this.#scratchKey[w]) return;
    this.#step(
      a.number,
      a.label,
      a.meaning === Meaning.HANDSHAKE_ACK,
      a.fields.payloadLength,
      a.fromClient,
      a.relativeSeq,
      a.relativeAck,
    );
  }

  #step(
    number: number,
    label: PacketLabel,
    completesHandshake: boolean,
    length: number,
    fromClient: boolean,
    relativeSeq: number,
    relativeAck: number,
  ): void {
    if (label === "SYN") this.#seen.add("SYN");
    if (label === "SYN-ACK") this.#seen.add("SYN-ACK");
    if (completesHandshake) this.#seen.add("ACK completing the handshake");
    if (length > 0) this.#seen.add("data");
    acknowledge(this.#firstFin, number, fromClient, relativeAck);
    acknowledge(this.#secondFin, number, fromClient, relativeAck);
    if (label === "FIN") {
      const fin = { number, fromClient, acknowledgedAt: relativeSeq + length + 1, acknowledged: false };
      if (!this.#firstFin) this.#firstFin = fin;
      else if (!this.#secondFin && fromClient !== this.#firstFin.fromClient) this.#secondFin = fin;
    }
  }

  /** The steps not seen so far; empty when the conversation is whole. */
  missing(): string[] {
    const present: Record<typeof CONVERSATION_STEPS[number], boolean> = {
      "SYN": this.#seen.has("SYN"),
      "SYN-ACK": this.#seen.has("SYN-ACK"),
      "ACK completing the handshake": this.#seen.has("ACK completing the handshake"),
      "data": this.#seen.has("data"),
      "FIN from one side": this.#firstFin !== undefined,
      "ACK of that FIN": this.#firstFin?.acknowledged ?? false,
      "FIN from the other side": this.#secondFin !== undefined,
      "last ACK": this.#secondFin?.acknowledged ?? false,
    };
    return CONVERSATION_STEPS.filter((step) => !present[step]);
  }
}

/** Notes that `fin` is acknowledged when a later packet from the other side acknowledges it. */
function acknowledge(fin: Fin | undefined, number: number, fromClient: boolean, relativeAck: number): void {
  if (fin && number > fin.number && fromClient !== fin.fromClient && relativeAck >= fin.acknowledgedAt) {
    fin.acknowledged = true;
  }
}

/**
 * Which steps of one whole TCP conversation (the first one in `packets`,
 * in capture order) are missing. Empty means the capture holds the whole
 * conversation.
 */
export function missingSteps(packets: readonly AnnotatedPacket[]): string[] {
  const steps = new ConversationSteps();
  for (const packet of packets) steps.add(packet);
  return steps.missing();
}
