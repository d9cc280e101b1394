/**
 * The yardstick for Kata 4's benchmark: Deno's own HTTP server answering
 * the same page with the same headers.
 *
 *   deno run --allow-net lib/bench/deno_serve.ts PORT
 *
 * @module
 */

const PAGE = "<!doctype html>\n<title>netkata</title>\n<p>Hello from Kata 4.</p>\n";

if (import.meta.main) {
  const port = Number(Deno.args[0]);
  Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    () =>
      new Response(PAGE, {
        headers: { "content-type": "text/html; charset=utf-8" },
      }),
  );
}
