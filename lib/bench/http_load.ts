/**
 * A small HTTP/1.1 load generator for where wrk is not installed: each of
 * N connections in turn opens a socket, sends GET with Connection: close,
 * reads to the end and checks the status line. It saturates before fast
 * servers do, and the report says which generator was used.
 *
 *   deno run --allow-net lib/bench/http_load.ts URL CONNECTIONS SECONDS
 *
 * Prints one JSON object.
 *
 * @module
 */

if (import.meta.main) {
  const [target, connections, seconds] = Deno.args;
  const url = new URL(target);
  const request = new TextEncoder().encode(
    `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`,
  );
  const deadline = performance.now() + Number(seconds) * 1000;
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const worker = async () => {
    const buffer = new Uint8Array(16 * 1024);
    while (performance.now() < deadline) {
      const started = performance.now();
      try {
        const conn = await Deno.connect({
          hostname: url.hostname,
          port: Number(url.port),
        });
        try {
          for (let sent = 0; sent < request.length;) {
            sent += await conn.write(request.subarray(sent));
          }
          let head = "";
          for (let n; (n = await conn.read(buffer)) !== null;) {
            if (head.length < 16) {
              head += new TextDecoder().decode(buffer.subarray(0, n));
            }
          }
          if (!/^HTTP\/1\.[01] 2\d\d /.test(head)) non2xx++;
          latencies.push(performance.now() - started);
        } finally {
          conn.close();
        }
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Number(connections) }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({
    requests: latencies.length,
    seconds: elapsed,
    non2xx,
    errors,
    p50_ms: latencies[Math.floor(latencies.length / 2)] ?? 0,
    p99_ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  }));
}
