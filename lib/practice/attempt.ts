/**
 * Fresh attempts: every practice session starts from a copy of the kata's
 * starter in a new numbered file. Earlier attempts are never overwritten, so
 * the learner can compare today's attempt with last week's.
 *
 * @module
 */

/**
 * Copies `starter` to the next free `attempt-NNN.ts` in `directory` and
 * returns its path. The file is created with `createNew`, so two sessions
 * started at once still get different files.
 */
export async function createAttempt(
  directory: string,
  starter: string | URL,
): Promise<string> {
  await Deno.mkdir(directory, { recursive: true });
  const content = await Deno.readFile(starter);
  for (let number = await nextAttemptNumber(directory);; number++) {
    const path = `${directory}/attempt-${String(number).padStart(3, "0")}.ts`;
    try {
      await Deno.writeFile(path, content, { createNew: true });
      return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
  }
}

async function nextAttemptNumber(directory: string): Promise<number> {
  let highest = 0;
  for await (const entry of Deno.readDir(directory)) {
    const match = /^attempt-(\d+)\.ts$/.exec(entry.name);
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  return highest + 1;
}
