/**
 * Paths inside the repository, printed relative to where the learner runs
 * the task (shorter, and what they would type themselves).
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url);

/** `relative` inside the repository, as a path relative to the current directory when it is inside it. */
export function repoPath(relative: string): string {
  const path = decodeURIComponent(new URL(relative, ROOT).pathname);
  const cwd = Deno.cwd();
  return path.startsWith(cwd + "/") ? path.slice(cwd.length + 1) : path;
}
