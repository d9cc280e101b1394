/*
 * Kata 2 — event-driven echo server: non-blocking sockets, epoll, and an
 * output buffer per connection.
 *
 * Build:  cc -O2 -Wall -o echo-epoll reference.c
 * Run:    ./echo-epoll [port] [host]        (default 9000 127.0.0.1)
 * Check:  deno task kata:2 check --cmd "./echo-epoll {port}"
 *
 * One thread, one loop: epoll_wait() says which sockets are ready; for each,
 * read until EAGAIN and write what the socket accepts. Whatever it does not
 * accept stays in that connection's buffer, and we ask for EPOLLOUT to learn
 * when it can take more. Nothing ever blocks, so nobody waits for anybody.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Backpressure: above HIGH_WATER unsent bytes we stop reading from the
 * client (it is not reading its echoes); below LOW_WATER we read again. */
#define HIGH_WATER (1024 * 1024)
#define LOW_WATER (256 * 1024)
#define READ_CHUNK (64 * 1024)
#define MAX_EVENTS 256
/* After accept4() runs out of descriptors, the first pause; it doubles up
 * to half a second. */
#define MIN_ACCEPT_PAUSE_MS 5
#define MAX_ACCEPT_PAUSE_MS 500

struct client {
    int fd;
    char *out;        /* unsent bytes live in out[start, end) */
    size_t start, end, capacity;
    int input_done;   /* the client sent EOF: close once `out` is empty */
    int reading;      /* registered for EPOLLIN? (off while above HIGH_WATER) */
};

static int epfd;

static size_t pending(const struct client *c) { return c->end - c->start; }

/* Tell epoll what we want to hear about: readable while below the
 * high-water mark, writable while output is waiting. */
static void update_interest(struct client *c) {
    struct epoll_event ev = {.data.ptr = c};
    if (c->reading) ev.events |= EPOLLIN;
    if (pending(c) > 0) ev.events |= EPOLLOUT;
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void close_client(struct client *c) {
    close(c->fd); /* close() also removes it from the epoll set */
    free(c->out);
    free(c);
}

/* Make room for `more` bytes at the end of the output buffer. */
static int reserve(struct client *c, size_t more) {
    if (c->start > 0 && c->end + more > c->capacity) {
        memmove(c->out, c->out + c->start, pending(c));
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end + more <= c->capacity) return 0;
    size_t capacity = c->capacity ? c->capacity : READ_CHUNK;
    while (capacity < c->end + more) capacity *= 2;
    char *grown = realloc(c->out, capacity);
    if (grown == NULL) return -1;
    c->out = grown;
    c->capacity = capacity;
    return 0;
}

/* Send as much as the socket takes right now; keep the rest. */
static int flush(struct client *c) {
    while (pending(c) > 0) {
        ssize_t n = write(c->fd, c->out + c->start, pending(c));
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0; /* the rest waits for EPOLLOUT */
            return -1;
        }
        c->start += (size_t)n;
    }
    c->start = c->end = 0;
    return 0;
}

/* Read until EAGAIN (or the high-water mark); the bytes go straight into
 * the output buffer, which is exactly what an echo has to send. */
static int drain_input(struct client *c) {
    while (pending(c) < HIGH_WATER) {
        if (reserve(c, READ_CHUNK) < 0) return -1;
        ssize_t n = read(c->fd, c->out + c->end, READ_CHUNK);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        if (n == 0) {
            c->input_done = 1;
            c->reading = 0;
            return 0;
        }
        c->end += (size_t)n;
    }
    c->reading = 0; /* backpressure: stop reading until the output drains */
    return 0;
}

static void on_event(struct client *c, uint32_t events) {
    if (events & (EPOLLERR)) return close_client(c);
    if ((events & (EPOLLIN | EPOLLHUP)) && c->reading && drain_input(c) < 0) return close_client(c);
    if (flush(c) < 0) return close_client(c);
    if (c->input_done && pending(c) == 0) return close_client(c);
    if (!c->reading && !c->input_done && pending(c) <= LOW_WATER) c->reading = 1;
    update_interest(c);
}

/* While out of descriptors the listener is left out of epoll: it stays
 * readable (clients are waiting), and level-triggered epoll would wake the
 * loop for it at once, forever, to fail the same accept. */
static int accept_pause_ms;      /* 0 while accepting */
static long long accept_resume_at; /* CLOCK_MONOTONIC ms: when to try again */

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void watch_listener(int listener, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_MOD, listener, &ev);
}

static void accept_all(int listener) {
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) {
            /* ECONNABORTED: a client connected and reset before we got to
             * it. Its fault, not ours: accept the next one. */
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: our fault. Stop watching the listener
                 * for a while; the loop serves the clients it has (and
                 * frees descriptors as they close), new ones wait in the
                 * kernel's accept queue. Say so once, not per try. */
                if (accept_pause_ms == 0) {
                    perror("accept4 (backing off)");
                    accept_pause_ms = MIN_ACCEPT_PAUSE_MS;
                } else if ((accept_pause_ms *= 2) > MAX_ACCEPT_PAUSE_MS) {
                    accept_pause_ms = MAX_ACCEPT_PAUSE_MS;
                }
                accept_resume_at = now_ms() + accept_pause_ms;
                watch_listener(listener, 0);
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                perror("accept4");
            }
            return;
        }
        accept_pause_ms = 0;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct client *c = calloc(1, sizeof *c); /* no buffer until there is data */
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->reading = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) close_client(c);
    }
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 9000;
    const char *host = argc > 2 ? argv[2] : "127.0.0.1";
    if (port < 1 || port > 65535) {
        fprintf(stderr, "usage: %s [port 1-65535] [host]\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a reset client gives EPIPE, not death */

    /* SOCK_NONBLOCK here (and in accept4 below) is the one-call form of
     * fcntl(fd, F_SETFL, flags | O_NONBLOCK): accept() on a listener with
     * nothing pending now fails with EAGAIN instead of blocking the loop. */
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "not an IPv4 address: %s\n", host);
        return 2;
    }
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, SOMAXCONN) < 0) {
        perror("bind/listen");
        return 1;
    }

    epfd = epoll_create1(0);
    /* The listener's data.ptr is NULL: that is how the loop tells it apart. */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
    printf("event-loop echo server listening on %s:%d\n", host, port);
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        long long wait_ms = -1;
        if (accept_pause_ms > 0) {
            wait_ms = accept_resume_at - now_ms();
            if (wait_ms <= 0) {
                /* The pause is over: watch the listener again and try. */
                watch_listener(listener, EPOLLIN);
                accept_all(listener);
                continue;
            }
        }
        int n = epoll_wait(epfd, events, MAX_EVENTS, (int)wait_ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL) accept_all(listener);
            else on_event(events[i].data.ptr, events[i].events);
        }
    }
}
