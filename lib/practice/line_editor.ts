/**
 * A one-line editor for a terminal in raw mode (the mistake prompt): keys
 * arrive as bytes, so a letter like "Ä" is two bytes and "🙂" four, and an
 * arrow key is three (ESC [ D). The editor decodes them into characters, so
 * Backspace removes a whole character and the arrows move over whole ones;
 * Enter ends the line and Ctrl-C (or Escape-less Ctrl-D) cancels it.
 *
 * @module
 */

/** What a key did: nothing more to read yet, or the line is done. */
export interface KeyResult {
  /** "enter": the line is finished; "cancel": Ctrl-C or Ctrl-D, nothing to keep. */
  done?: "enter" | "cancel";
}

const ESC = 0x1b;

/**
 * The line being typed, with its cursor. `render()` draws it after `prompt`.
 *
 * @example
 * ```ts
 * import { LineEditor } from "./line_editor.ts";
 * const editor = new LineEditor();
 * for (const byte of new TextEncoder().encode("naïve\x7f")) editor.feed(byte);
 * editor.text; // "naïv"
 * ```
 */
export class LineEditor {
  /** One entry per character (code point), so that edits never split one. */
  #chars: string[] = [];
  #cursor = 0;
  /** Bytes of a character or an escape sequence still arriving. */
  #pending: number[] = [];

  get text(): string {
    return this.#chars.join("");
  }

  /** Takes one byte of input. */
  feed(byte: number): KeyResult {
    if (this.#pending.length > 0) return this.#continue(byte);
    if (byte === 0x0d || byte === 0x0a) return { done: "enter" };
    if (byte === 0x03 || byte === 0x04) return { done: "cancel" };
    if (byte === 0x7f || byte === 0x08) this.#deleteBefore();
    else if (byte === 0x01) this.#cursor = 0; // Ctrl-A
    else if (byte === 0x05) this.#cursor = this.#chars.length; // Ctrl-E
    else if (byte === ESC || byte >= 0xc0) this.#pending.push(byte);
    else if (byte >= 0x20 && byte < 0x7f) this.#insert(String.fromCharCode(byte));
    return {};
  }

  #continue(byte: number): KeyResult {
    this.#pending.push(byte);
    const [first] = this.#pending;
    if (first === ESC) {
      // ESC [ X or ESC O X; ESC [ 3 ~ (Delete). Anything else is dropped.
      const sequence = String.fromCharCode(...this.#pending.slice(1));
      if (/^[[O][0-9;]*$/.test(sequence)) return {};
      this.#pending = [];
      this.#escape(sequence);
      return {};
    }
    const length = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : 2;
    if ((byte & 0xc0) !== 0x80) { // not a continuation byte: drop the broken character
      this.#pending = [];
      return this.feed(byte);
    }
    if (this.#pending.length < length) return {};
    const char = new TextDecoder().decode(new Uint8Array(this.#pending));
    this.#pending = [];
    this.#insert(char);
    return {};
  }

  #escape(sequence: string) {
    const key = sequence.slice(1);
    if (key === "D") this.#cursor = Math.max(0, this.#cursor - 1);
    else if (key === "C") this.#cursor = Math.min(this.#chars.length, this.#cursor + 1);
    else if (key === "H" || key === "1~") this.#cursor = 0;
    else if (key === "F" || key === "4~") this.#cursor = this.#chars.length;
    else if (key === "3~" && this.#cursor < this.#chars.length) this.#chars.splice(this.#cursor, 1);
  }

  #insert(char: string) {
    this.#chars.splice(this.#cursor, 0, char);
    this.#cursor++;
  }

  #deleteBefore() {
    if (this.#cursor === 0) return;
    this.#chars.splice(this.#cursor - 1, 1);
    this.#cursor--;
  }

  /** Redraws the line after `prompt`, with the terminal's cursor where the editor's is. */
  render(prompt: string): string {
    const after = this.#chars.slice(this.#cursor).reduce((cells, char) => cells + cellsOf(char), 0);
    return `\r\x1b[2K${prompt}${this.text}${after > 0 ? `\x1b[${after}D` : ""}`;
  }
}

/** Terminal cells a character takes: two for East Asian wide letters and most emoji. */
function cellsOf(char: string): number {
  const code = char.codePointAt(0)!;
  const wide = (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x1f300 && code <= 0x1faff) ||
    (code >= 0x20000 && code <= 0x3fffd);
  return wide ? 2 : 1;
}
