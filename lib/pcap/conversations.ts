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
/** The side of a conversation, as an index into the per-side arrays. */
export const CLIENT = 0;
export const SERVER = 1;

/**
 * Conversations by their endpoints, at most `maxSize` at once: past that,
 * adding one forgets the oldest added. Each has a slot number; its state
 * lives in the arrays at that slot (per side: at 2·slot + side). The
 * arrays start small and double as conversations pile up: a capture of
 * one conversation at a time (most) keeps them at a few kilobytes, where
 * the full 65 536 would hold 6 MB.
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
  /** The order conversations were added in (a doubly linked list over slots), to forget the oldest first. */
  #older = new Int32Array(0);
  #newer = new Int32Array(0);
  #oldest = -1;
  #newest = -1;
  /** Slots not in use, as a stack. */
  #free = new Int32Array(0);
  #freeCount = 0;

  /** 1 when the key's first endpoint is the client (it sent the first packet seen). */
  clientIsFirst = new Uint8Array(0);
  /** 1 once the client's ACK of the server's SYN was seen. */
  established = new Uint8Array(0);
  /** Per side: initial sequence number (the first seq seen from that side). */
  isn = new Float64Array(0);
  hasIsn = new Uint8Array(0);
  /** Per side: relative sequence number just past its FIN, once sent. */
  finEnd = new Float64Array(0);
  hasFinEnd = new Uint8Array(0);
  /** Per side: 1 once its FIN is acknowledged. */
  finAcked = new Uint8Array(0);

  constructor(maxSize: number, initialCapacity = 16) {
    this.maxSize = maxSize;
    this.#grow(Math.min(initialCapacity, maxSize));
  }

  /** Makes room for `capacity` conversations: the arrays copied, the hash index rebuilt. */
  #grow(capacity: number): void {
    const old = this.capacity;
    const slots = (perSlot: number) => capacity * perSlot;
    this.#keys = grown(new Int32Array(slots(KEY_WORDS)), this.#keys);
    this.#hashes = grown(new Int32Array(slots(1)), this.#hashes);
    this.#older = grown(new Int32Array(slots(1)), this.#older);
    this.#newer = grown(new Int32Array(slots(1)), this.#newer);
    this.clientIsFirst = grown(new Uint8Array(slots(1)), this.clientIsFirst);
    this.established = grown(new Uint8Array(slots(1)), this.established);
    this.isn = grown(new Float64Array(slots(2)), this.isn);
    this.hasIsn = grown(new Uint8Array(slots(2)), this.hasIsn);
    this.finEnd = grown(new Float64Array(slots(2)), this.finEnd);
    this.hasFinEnd = grown(new Uint8Array(slots(2)), this.hasFinEnd);
    this.finAcked = grown(new Uint8Array(slots(2)), this.finAcked);
    // Only full tables grow: every new slot is free, the lowest on top.
    this.#free = new Int32Array(capacity);
    for (let slot = capacity - 1; slot >= old; slot--) this.#free[this.#freeCount++] = slot;
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

  /** Adds a conversation with the current key (not present), its state cleared; forgets the oldest when full. */
  add(): number {
    if (this.#freeCount === 0) {
      if (this.capacity < this.maxSize) this.#grow(Math.min(this.capacity * 2, this.maxSize));
      else this.delete(this.#oldest);
    }
    const slot = this.#free[--this.#freeCount];
    this.#keys.set(this.#key, slot * KEY_WORDS);
    this.#hashes[slot] = this.#keyHash;
    this.#place(slot);
    this.#older[slot] = this.#newest;
    this.#newer[slot] = -1;
    if (this.#newest >= 0) this.#newer[this.#newest] = slot;
    else this.#oldest = slot;
    this.#newest = slot;
    this.size++;
    this.clientIsFirst[slot] = 0;
    this.established[slot] = 0;
    this.hasIsn[2 * slot] = this.hasFinEnd[2 * slot] = this.finAcked[2 * slot] = 0;
    this.hasIsn[2 * slot + 1] = this.hasFinEnd[2 * slot + 1] = this.finAcked[2 * slot + 1] = 0;
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
    this.#free[this.#freeCount++] = slot;
    this.size--;
  }
}

/**
 * Writes into `key` (KEY_WORDS long) the endpoints of `fields`, a TCP
 * segment or UDP datagram, in an order that does not depend on the
 * direction: the same key both ways. Returns true when the source comes
 * first.
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
function grown<T extends Int32Array | Uint8Array | Float64Array>(bigger: T, old: T): T {
  bigger.set(old);
  return bigger;
}
