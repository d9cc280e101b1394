/**
 * Watching one file for saves. Editors save in different ways (write in
 * place, or write a temporary file and rename it over the original), so we
 * watch the file's folder and pick out events that name the file.
 *
 * @module
 */

/** A running watch; `close()` stops it. */
export interface FileWatch extends Disposable {
  close(): void;
}

/** How long a burst of writes may go on and still be one save. */
export const SAVE_DEBOUNCE_MS = 200;

/**
 * Calls `onSave` once per burst of changes to `path` (editors often write
 * a file in several steps; `debounceMs` folds them into one save). Returns
 * undefined when the system cannot watch files (some network drives, WSL2
 * on Windows folders, exhausted inotify watches): callers fall back to a
 * manual "check now" key.
 */
export function watchFile(
  path: string,
  onSave: () => void,
  debounceMs = SAVE_DEBOUNCE_MS,
): FileWatch | undefined {
  const slash = path.lastIndexOf("/");
  const directory = slash === -1 ? "." : path.slice(0, slash) || "/";
  const name = path.slice(slash + 1);
  let watcher: Deno.FsWatcher;
  try {
    watcher = Deno.watchFs(directory, { recursive: false });
  } catch {
    return undefined;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  (async () => {
    try {
      for await (const event of watcher) {
        if (event.kind === "access") continue;
        if (
          !event.paths.some((changed) => changed.endsWith(`/${name}`) || changed === name)
        ) continue;
        clearTimeout(timer);
        timer = setTimeout(onSave, debounceMs);
      }
    } catch {
      // The watcher was closed, or the folder went away: no more events.
    }
  })();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    watcher.close();
  };
  return { close, [Symbol.dispose]: close };
}
