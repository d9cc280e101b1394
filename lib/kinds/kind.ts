/**
 * What a kind of kata is. Every kata is one of four kinds — a server the
 * checker connects to, a client the checker runs, a capture file, an
 * experiment — and each kind is one module in this folder that says
 * everything `deno task kata:N` does for katas of that kind: its help, its
 * flags, and its `practice`, `check` and `run`. The catalog entry of a kata
 * is its kind's entry type, filled in.
 *
 * @module
 */

import type { StretchResult } from "../check/report.ts";
import type { Stage } from "../check/stage.ts";
import type { PracticeKata } from "../practice/kata.ts";
import type { LogPaths } from "../practice/logs.ts";
import type { KataFlags } from "./common.ts";

/** The four kinds. */
export type KindName = "server" | "client" | "capture" | "experiment";

/** What every catalog entry has, whatever its kind. */
export interface KataEntry<K extends KindName, C> extends PracticeKata {
  readonly kind: K;
  /** The kata's folder: `KATA.md` (the card), `check.ts`, and its kind's files. */
  readonly directory: URL;
  /** The kata's stages, from its `check.ts`. */
  loadStages(): Promise<readonly Stage<C>[]>;
}

/** What a command of `deno task kata:N COMMAND` gets to work with. */
export interface KataCommand {
  /** Every flag given; the kind's own have been checked to belong to it. */
  flags: KataFlags;
  /** Positional arguments after the command's name. */
  rest: string[];
  /** The card's text. */
  card: string;
  logs: LogPaths;
  /**
   * Set for `check --file` on a code kata: the kind calls it when the check
   * passes, with what the history keeps beside an untimed pass.
   */
  recordPass?: (pass: CheckedPass) => Promise<void>;
}

/** What a passing `check --file` leaves in the history, besides the file. */
export interface CheckedPass {
  /** The track graded, when it is not the kata's main one ("syscalls"). */
  track?: string;
  /** The stretch stages and how they went. */
  stretch: StretchResult[];
}

/** The lines a kind adds to `deno task kata:N --help`. */
export interface KindHelp {
  /** What `deno task kata:N` alone does. */
  practice: string;
  /** The usage lines of `run` and of the kind's other commands. */
  commands: string;
  /** What `check` can grade, and the kind's own flags. */
  targets: string;
}

/** A command of a kind: returns the exit status. */
export type KindCommand<K> = (kata: K, command: KataCommand) => Promise<number>;

/** One kind of kata: everything `deno task kata:N` does for it, beyond `card` and `log`. */
export interface Kind<K> {
  /** The flags the kind reads (`node:util` parseArgs options); `--json`, `--logs` and `--help` are everyone's. */
  readonly flags: Readonly<Record<string, { type: "string" | "boolean" }>>;
  /** The one sentence for a flag this kind does not take. */
  wrongFlag(kata: K, flag: string): string;
  help(kata: K): KindHelp;
  practice: KindCommand<K>;
  check: KindCommand<K>;
  run: KindCommand<K>;
  /** Further commands, by name (a client kata's `fixture`). */
  readonly commands?: Readonly<Record<string, KindCommand<K>>>;
}
