/**
 * The TCP conversations the annotator remembers, in typed arrays: a
 * conversation costs no object and a packet no string, however many
 * packets stream through. A conversation is found by its two endpoints
 * (address and port, either order) through an open-addressing hash index.
 *
 * @module
 */

import type { PacketFields } from "./decode.ts";

/** Words of a key: IP version, both ports, then each endpoint's address (4 words, IPv4 in the first). */
export const KEY_WORDS = 10;
/** The side of a conversation: per-side state is at 2·slot + side, per-side flags shifted left by it. */
export const CLIENT = 0;
export const SERVER = 1;

/** A conversation's flags, 16 bits per slot. */
export const CLIENT_FIRST = 0x01; // the key's first endpoint is the client (it sent the first packet seen)
export const ESTABLISHED = 0x02; // the client's ACK of the server's SYN was seen
export const ISN_KNOWN = 0x04; // per side (<< side): its initial sequence number is known
export const FIN_SENT = 0x10; // per side: it sent its FIN (finEnd holds where it ends)
export const FIN_ACKED = 0x40; // per side: its FIN is acknowledged
export const SAW_SYN_ACK = 0x100; // the server's SYN-ACK was seen: only then does an ACK complete a handshake

/** How much the arrays grow at a time: 16, 256, 4 096, then 65 536 conversations. */
const GROWTH = 16;

/**
 * Conversations by their endpoints, at most `maxSize` at once: past that,
 * adding one forgets the oldest added. Each has a slot number; its state
 * lives in the arrays at that slot.
 *
 * The arrays start small and grow sixteen-fold: a capture of one
 * conversation at a time (most) keeps them at a few kilobytes; a SYN flood
 * fills 65 536 slots of 85 bytes, 5.6 MB. Growing by 16 rather than 2
 * keeps the old arrays, alive while they are copied, at a sixteenth of the
 * new: doubling cost a flood 2.7 MiB more peak RSS than allocating the
 * whole table at once.
 */
export class ConversationTable {
  readonly maxSize: number;
  /** Slots in the arrays now. */
  capacity = 0;
  size = 0;
  /** The key being looked up: set by {@linkcode setKey}. */
  readonly #key = new Int32Array(KEY_WORDS);
  #keyHash = 0;
  #keys = new Int32Array(0);
  #hashes = new Int32Array(0);
  /** slot + 1 at each position of the hash index; 0 for none. Twice the capacity: probes stay short. */
  #index = new Int32Array(0);
  #mask = 0;
  /**
   * The order conversations were added in (a doubly linked list over
   * slots), to forget the oldest first. Free slots are chained through
   * #newer from #free.
   */
  #older = new Int32Array(0);
  #newer = new Int32Array(0);
  #oldest = -1;
  #newest = -1;
  #free = -1;

  /** CLIENT_FIRST, ESTABLISHED, and ISN_KNOWN, FIN_SENT, FIN_ACKED shifted left by the side. */
  flags = new Uint16Array(0);
  /** Per side: initial sequence number (the first seq seen from that side). */
  isn = new Uint32Array(0);
  /** Per side: relative sequence number just past its FIN (up to 2^32 + 2^16: a double). */
  finEnd = new Float64Array(0);

  constructor(maxSize: number, initialCapacity = GROWTH) {
    this.maxSize = maxSize;
    this.#grow(Math.min(initialCapacity, maxSize));
  }

  /** Makes room for `capacity` conversations: the arrays copied, the hash index rebuilt. */
  #grow(capacity: number): void {
    const old = this.capacity;
    this.#keys = grown(new Int32Array(capacity * KEY_WORDS), this.#keys);
    this.#hashes = grown(new Int32Array(capacity), this.#hashes);
    this.#older = grown(new Int32Array(capacity), this.#older);
    this.#newer = grown(new Int32Array(capacity), this.#newer);
    this.flags = grown(new Uint16Array(capacity), this.flags);
    this.isn = grown(new Uint32Array(capacity * 2), this.isn);
    this.finEnd = grown(new Float64Array(capacity * 2), this.finEnd);
    // Only full tables grow: every new slot is free, the lowest first.
    for (let slot = capacity - 1; slot >= old; slot--) {
      this.#newer[slot] = this.#free;
      this.#free = slot;
    }
    let indexSize = 2;
    while (indexSize < capacity * 2) indexSize *= 2;
    this.#index = new Int32Array(indexSize);
    this.#mask = indexSize - 1;
    for (let slot = this.#oldest; slot >= 0; slot = this.#newer[slot]) this.#place(slot);
    this.capacity = capacity;
  }

  /** Puts `slot` into the hash index, at the first free position from its hash. */
  #place(slot: number): void {
    let at = this.#hashes[slot] & this.#mask;
    while (this.#index[at] !== 0) at = (at + 1) & this.#mask;
    this.#index[at] = slot + 1;
  }

  /**
   * Makes the lookup key the endpoints of `fields` (a TCP segment).
   * Returns true when the source comes first in it.
   */
  setKey(fields: PacketFields): boolean {
    const key = this.#key;
    const srcFirst = conversationKey(fields, key);
    let hash = 0x811c9dc5;
    for (let w = 0; w < KEY_WORDS; w++) hash = Math.imul(hash ^ key[w], 0x01000193);
    this.#keyHash = hash ^ (hash >>> 15);
    return srcFirst;
  }

  /** The slot of the conversation with the current key, or -1. */
  find(): number {
    for (let at = this.#keyHash & this.#mask;; at = (at + 1) & this.#mask) {
      const entry = this.#index[at];
      if (entry === 0) return -1;
      if (this.#hashes[entry - 1] === this.#keyHash && this.#sameKey(entry - 1)) return entry - 1;
    }
  }

  #sameKey(slot: number): boolean {
    for (let w = 0; w < KEY_WORDS; w++) if (this.#keys[slot * KEY_WORDS + w] !== this.#key[w]) return false;
    return true;
  }

  /** Adds a conversation with the current key (not present), its flags cleared; forgets the oldest when full. */
  add(): number {
    if (this.#free < 0) {
      if (this.capacity < this.maxSize) this.#grow(Math.min(this.capacity * GROWTH, this.maxSize));
      else this.delete(this.#oldest);
    }
    const slot = this.#free;
    this.#free = this.#newer[slot];
    this.#keys.set(this.#key, slot * KEY_WORDS);
    this.#hashes[slot] = this.#keyHash;
    this.#place(slot);
    this.#older[slot] = this.#newest;
    this.#newer[slot] = -1;
    if (this.#newest >= 0) this.#newer[this.#newest] = slot;
    else this.#oldest = slot;
    this.#newest = slot;
    this.size++;
    this.flags[slot] = 0;
    return slot;
  }

  /** Forgets the conversation in `slot`. */
  delete(slot: number): void {
    const mask = this.#mask;
    let hole = this.#hashes[slot] & mask;
    while (this.#index[hole] !== slot + 1) hole = (hole + 1) & mask;
    this.#index[hole] = 0;
    // Backward-shift deletion: move up every later entry of the run whose
    // home position is not between the hole and itself, so no probe stops early.
    for (let at = (hole + 1) & mask; this.#index[at] !== 0; at = (at + 1) & mask) {
      const home = this.#hashes[this.#index[at] - 1] & mask;
      const stays = hole < at ? home > hole && home <= at : home > hole || home <= at;
      if (!stays) {
        this.#index[hole] = this.#index[at];
        this.#index[at] = 0;
        hole = at;
      }
    }
    const older = this.#older[slot];
    const newer = this.#newer[slot];
    if (older >= 0) this.#newer[older] = newer;
    else this.#oldest = newer;
    if (newer >= 0) this.#older[newer] = older;
    else this.#newest = older;
    this.#newer[slot] = this.#free;
    this.#free = slot;
    this.size--;
  }
}

/**
 * Writes into `key` (KEY_WORDS long) the endpoints of `fields`, a TCP
 * segment or UDP datagram, in an order that does not depend on the
 * direction: the same key both ways. Returns true when the source comes
 * first.
 *
 * @example
 * ```ts ignore
 * import { conversationKey, KEY_WORDS } from "./conversations.ts";
 * const there = new Int32Array(KEY_WORDS), back = new Int32Array(KEY_WORDS);
 * conversationKey(syn, there); // true: the source (the client) comes first
 * conversationKey(synAck, back); // false
 * // there and back hold the same words
 * ```
 */
export function conversationKey(fields: PacketFields, key: Int32Array): boolean {
  const b = fields.bytes;
  const words = fields.ipVersion === 4 ? 1 : 4;
  // Which endpoint is smaller, address first, then port: any fixed order does.
  let order = 0;
  for (let w = 0; w < words && order === 0; w++) {
    order = word(b, fields.srcAt + 4 * w) - word(b, fields.dstAt + 4 * w);
  }
  if (order === 0) order = fields.srcPort - fields.dstPort;
  const srcFirst = order <= 0;
  const first = srcFirst ? fields.srcAt : fields.dstAt;
  const second = srcFirst ? fields.dstAt : fields.srcAt;
  key[0] = fields.ipVersion;
  key[1] = srcFirst ? (fields.srcPort << 16) | fields.dstPort : (fields.dstPort << 16) | fields.srcPort;
  for (let w = 0; w < 4; w++) {
    key[2 + w] = w < words ? word(b, first + 4 * w) : 0;
    key[6 + w] = w < words ? word(b, second + 4 * w) : 0;
  }
  return srcFirst;
}

function word(b: Uint8Array, at: number): number {
  return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}

/** `bigger` with `old` copied to its start. */
function grown<T extends Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array>(bigger: T, old: T): T {
  bigger.set(old);
  return bigger;
}
