/**
 * The yardstick for Kata 4's benchmark: Deno's own HTTP server answering
 * the same page with the same headers.
 *
 *   deno run --allow-net lib/bench/deno_serve.ts PORT
 *
 * Deno.serve skips clients that reset before the accept, but its accept
 * loop ends for good when the process runs out of file descriptors
 * (EMFILE), closing the listener while the connections it has go on being
 * served. So this serves again, after a pause that grows while the
 * shortage lasts; clients that try to connect in between are refused.
 *
 * @module
 */

const PAGE = "<!doctype html>\n<title>netkata</title>\n<p>Hello from Kata 4.</p>\n";

/** How long to wait after running out of descriptors, and the longest wait: the pause doubles between them. */
const MIN_PAUSE_MS = 5;
const MAX_PAUSE_MS = 500;

function isOutOfDescriptors(error: unknown): error is Error {
  return error instanceof Error &&
    /Too many open files|EMFILE|ENFILE/.test(`${error.message} ${(error as { code?: string }).code}`);
}

/**
 * Serves the page on `port` until the process ends, serving again whenever
 * Deno.serve stops for lack of descriptors.
 *
 * @example
 * ```ts ignore
 * serveForever(8080);
 * ```
 */
export function serveForever(port: number): void {
  let pauseMs = 0;
  const retry = (error: Error) => {
    if (pauseMs === 0) {
      console.error(`Deno.serve stopped, out of file descriptors: ${error.message}; serving again shortly`);
      pauseMs = MIN_PAUSE_MS;
    } else {
      pauseMs = Math.min(pauseMs * 2, MAX_PAUSE_MS);
    }
    setTimeout(serve, pauseMs);
  };
  const serve = () => {
    let server: Deno.HttpServer;
    try {
      server = Deno.serve(
        { hostname: "127.0.0.1", port, onListen: () => {} },
        () => {
          pauseMs = 0;
          return new Response(PAGE, {
            headers: { "content-type": "text/html; charset=utf-8" },
          });
        },
      );
    } catch (error) {
      // Listening needs a descriptor too.
      if (!isOutOfDescriptors(error)) throw error;
      return retry(error);
    }
    server.finished.catch((error) => {
      if (!isOutOfDescriptors(error)) throw error;
      retry(error);
    });
  };
  serve();
}

if (import.meta.main) {
  // Set Deno's signal handling up now, while descriptors are plentiful: it
  // takes one, Deno itself asks for it soon after start, and a Deno out of
  // descriptors then panics (2.9) where it should go on serving.
  Deno.addSignalListener("SIGINT", () => Deno.exit(130));
  serveForever(Number(Deno.args[0]));
}
