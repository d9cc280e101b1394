/*
 * echo_load — a load generator for echo servers, in C so that it does not
 * saturate before the servers it measures (a Deno client on the same two
 * cores would). One thread, epoll, non-blocking sockets.
 *
 *   echo_load HOST PORT MODE SIZE CONNECTIONS SECONDS [IDLE]
 *
 *   MODE  rr      request/response: send SIZE bytes, wait for all SIZE back,
 *                 repeat; latency is measured per message
 *         stream  keep up to 4*SIZE bytes in flight per connection
 *   IDLE  extra connections opened first that never send anything; once
 *         they are open, "idle ready" goes to stderr and the run waits for
 *         a line on stdin, so the caller can measure the server at rest
 *
 * Warm-up comes first and does not count: it lasts until every connection
 * has had one echo back (at least 0.25 s, at most 10 s). How long that took
 * is reported as ramp_ms: a server that accepts slowly under load shows it
 * there. Then SECONDS of measurement.
 *
 * Every echoed byte is checked against what was sent. Prints one JSON
 * object; "mismatches" counts reads whose bytes differed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    uint64_t sent, received; /* byte offsets in this connection's stream */
    uint64_t target;         /* rr: send up to here, then wait for the echo */
    double started;          /* rr: when the current message started */
    int want_out;            /* registered for EPOLLOUT: a write hit EAGAIN */
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Each connection's stream is a long pseudo-random pattern with a prime
 * period, started at a different phase per connection, so that bytes echoed
 * to the wrong client or out of order are caught. It is kept twice over in
 * one buffer, so any stretch of the stream is one memcpy/memcmp away: the
 * generator must not spend its CPU on checking bytes one at a time. */
#define PERIOD 65521
#define MAX_CHUNK (256 * 1024)
static uint8_t pattern_buffer[PERIOD + MAX_CHUNK];

static void make_pattern(void) {
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < PERIOD; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
        pattern_buffer[i] = (uint8_t)x;
    }
    for (size_t i = PERIOD; i < sizeof pattern_buffer; i++) pattern_buffer[i] = pattern_buffer[i - PERIOD];
}

/* Where connection `id`'s stream at `offset` starts in pattern_buffer. */
static inline const uint8_t *pattern_at(uint32_t id, uint64_t offset) {
    return pattern_buffer + (offset + (uint64_t)id * 7919) % PERIOD;
}

static size_t window;

/* Sends this connection's stream up to `limit`. Registers for EPOLLOUT only
 * while the socket is full: a client that asks for EPOLLOUT all the time
 * spins on always-writable sockets and measures itself, not the server. */
static int pump(int ep, struct conn *c, uint32_t id, uint64_t limit) {
    int blocked = 0;
    while (c->sent < limit) {
        size_t chunk = (size_t)(limit - c->sent);
        if (chunk > window) chunk = window;
        if (chunk > MAX_CHUNK) chunk = MAX_CHUNK;
        ssize_t put = write(c->fd, pattern_at(id, c->sent), chunk);
        if (put < 0) {
            if (errno != EAGAIN) return -1;
            blocked = 1;
            break;
        }
        c->sent += (uint64_t)put;
    }
    if (blocked != c->want_out) {
        c->want_out = blocked;
        struct epoll_event ev = {.events = EPOLLIN | (blocked ? EPOLLOUT : 0), .data.u32 = id};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
    return 0;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int connect_to(const char *host, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &addr.sin_addr);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT rr|stream SIZE CONNECTIONS SECONDS [IDLE]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    int streaming = strcmp(argv[3], "stream") == 0;
    size_t size = (size_t)atol(argv[4]);
    int count = atoi(argv[5]);
    double seconds = atof(argv[6]);
    int idle = argc > 7 ? atoi(argv[7]) : 0;

    struct rlimit limit = {65536, 65536};
    setrlimit(RLIMIT_NOFILE, &limit);

    int *idle_fds = calloc((size_t)idle + 1, sizeof(int));
    for (int i = 0; i < idle; i++) {
        idle_fds[i] = connect_to(host, port);
        if (idle_fds[i] < 0) {
            printf("{\"error\":\"idle connection %d of %d failed: %s\"}\n", i + 1, idle, strerror(errno));
            return 1;
        }
    }

    if (idle > 0) {
        fprintf(stderr, "idle ready\n");
        char line[16];
        if (fgets(line, sizeof line, stdin) == NULL) return 1;
    }

    int ep = epoll_create1(0);
    struct conn *conns = calloc((size_t)count, sizeof *conns);
    for (int i = 0; i < count; i++) {
        conns[i].fd = connect_to(host, port);
        if (conns[i].fd < 0) {
            printf("{\"error\":\"connection %d of %d failed: %s\"}\n", i + 1, count, strerror(errno));
            return 1;
        }
        fcntl(conns[i].fd, F_SETFL, fcntl(conns[i].fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }

    window = streaming ? 4 * size : size;
    make_pattern();
    uint8_t *in = malloc(MAX_CHUNK);
    size_t latency_cap = 1 << 22, latency_count = 0;
    double *latencies = malloc(latency_cap * sizeof(double));
    uint64_t messages = 0, bytes = 0, mismatches = 0, errors = 0;

    struct rusage before;
    getrusage(RUSAGE_SELF, &before);
    double start = now(), deadline = start + 10 + seconds;
    double measure_from = start, ramp = -1;
    uint64_t bytes_at_warmup = 0, messages_at_warmup = 0;
    int warmed = 0, first_done = 0;
    for (int i = 0; i < count; i++) {
        conns[i].target = size;
        conns[i].started = start;
        if (pump(ep, &conns[i], (uint32_t)i, streaming ? window : size) < 0) errors++;
    }

    struct epoll_event events[512];
    while (now() < deadline) {
        double t = now();
        if (ramp < 0 && first_done == count) ramp = t - start;
        if (!warmed && t >= start + 0.25 && (ramp >= 0 || t >= start + 10)) {
            warmed = 1;
            measure_from = t;
            deadline = t + seconds;
            bytes_at_warmup = bytes;
            messages_at_warmup = messages;
            latency_count = 0;
            getrusage(RUSAGE_SELF, &before);
        }
        int n = epoll_wait(ep, events, 512, 100);
        for (int e = 0; e < n; e++) {
            uint32_t id = events[e].data.u32;
            struct conn *c = &conns[id];
            if (c->fd < 0) continue;
            if (events[e].events & EPOLLIN) {
                for (;;) {
                    ssize_t got = read(c->fd, in, MAX_CHUNK);
                    if (got < 0 && errno == EAGAIN) break;
                    if (got <= 0) {
                        errors++;
                        close(c->fd);
                        c->fd = -1;
                        break;
                    }
                    if (memcmp(in, pattern_at(id, c->received), (size_t)got) != 0) mismatches++;
                    if (c->received < size && c->received + (uint64_t)got >= size) first_done++;
                    c->received += (uint64_t)got;
                    bytes += (uint64_t)got;
                    if (!streaming && c->received == c->target) {
                        double done_at = now();
                        if (latency_count < latency_cap) latencies[latency_count++] = done_at - c->started;
                        messages++;
                        c->target += size;
                        c->started = done_at;
                    }
                }
                if (c->fd < 0) continue;
            }
            if (pump(ep, c, id, streaming ? c->received + window : c->target) < 0) errors++;
        }
    }
    double elapsed = now() - measure_from;
    bytes -= bytes_at_warmup;
    messages -= messages_at_warmup;
    struct rusage after;
    getrusage(RUSAGE_SELF, &after);
    double cpu = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) + (after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
                 ((after.ru_utime.tv_usec - before.ru_utime.tv_usec) + (after.ru_stime.tv_usec - before.ru_stime.tv_usec)) / 1e6;
    if (streaming) messages = bytes / size;

    double p50 = 0, p99 = 0;
    if (latency_count > 0) {
        qsort(latencies, latency_count, sizeof(double), compare_doubles);
        p50 = latencies[latency_count / 2];
        p99 = latencies[(size_t)(latency_count * 0.99)];
    }
    int starved = 0;
    for (int i = 0; i < count; i++) {
        if (conns[i].received < size) starved++; /* never got one echo back */
    }
    printf("{\"seconds\":%.3f,\"messages\":%llu,\"bytes\":%llu,\"mismatches\":%llu,\"errors\":%llu,"
           "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"client_cpu\":%.3f,\"starved\":%d,\"ramp_ms\":%.1f}\n",
           elapsed, (unsigned long long)messages, (unsigned long long)bytes, (unsigned long long)mismatches,
           (unsigned long long)errors, p50 * 1000, p99 * 1000, cpu / elapsed, starved, ramp * 1000);
    return 0;
}
