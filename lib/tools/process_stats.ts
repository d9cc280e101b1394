/**
 * CPU time and memory of a running process, from Linux's /proc. Elsewhere
 * every figure is undefined and reports show "–".
 *
 * Deno grants /proc only with --allow-all, which no task of ours uses, so
 * the files are read by `cat` through the run permission the benchmark
 * already has.
 *
 * @module
 */

/** Clock ticks per second in /proc/PID/stat; 100 on every Linux we know of. */
const CLOCK_TICKS = 100;

async function readProc(
  pid: number,
  file: string,
): Promise<string | undefined> {
  try {
    const output = await new Deno.Command("cat", {
      args: [`/proc/${pid}/${file}`],
      stderr: "null",
    }).output();
    return output.success ? new TextDecoder().decode(output.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) the process has used so far. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readProc(pid, "stat");
  if (stat === undefined) return undefined;
  // The command name (field 2) may contain spaces; fields after ")" are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Resident memory now (`VmRSS`) and at its peak (`VmHWM`), in bytes. */
export async function memory(
  pid: number,
): Promise<{ rss?: number; peak?: number }> {
  const status = await readProc(pid, "status");
  if (status === undefined) return {};
  const kib = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}
