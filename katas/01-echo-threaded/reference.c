/*
 * Kata 1 — concurrent echo server, one detached thread per connection.
 *
 * Build:  cc -O2 -Wall -pthread -o echo-threaded reference.c
 * Run:    ./echo-threaded [port] [host]        (default 9000 127.0.0.1)
 * Check:  deno task kata:1 check --cmd "./echo-threaded {port}"
 *
 * The skeleton to know by heart: socket → setsockopt → bind → listen →
 * accept in a loop → pthread_create → pthread_detach.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Per-thread read buffer. 64 KiB: big enough that a bulk transfer needs few
 * read() calls, small enough that a thousand threads do not notice it. */
#define BUFFER_BYTES (64 * 1024)

/* After accept() runs out of descriptors, the first pause; it doubles up to
 * half a second, so the server notices soon when descriptors free up. */
#define MIN_ACCEPT_PAUSE_US 5000
#define MAX_ACCEPT_PAUSE_US 500000

/* write() may send fewer bytes than asked (the socket's send buffer is
 * full) and may be interrupted by a signal (EINTR): loop until all are sent. */
static int write_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1; /* EPIPE, ECONNRESET: the client is gone */
        }
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

/* ECONNABORTED: a client connected and reset before we accepted it. Linux
 * also hands a new connection's network errors to accept() itself (see
 * accept(2), "Error handling"). Either way it is that client's problem,
 * not ours: accept the next one. */
static int client_gone(int error) {
    switch (error) {
    case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN:
    case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
        return 1;
    }
    return 0;
}

/* EMFILE: this process has every descriptor it may open; ENFILE: the whole
 * system has; ENOBUFS, ENOMEM: the kernel is out of socket memory. */
static int out_of_descriptors(int error) {
    return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

/* One client, start to finish. Runs in its own detached thread. */
static void *serve_connection(void *arg) {
    int fd = (int)(intptr_t)arg;
    char *buffer = malloc(BUFFER_BYTES);
    if (buffer == NULL) {
        close(fd);
        return NULL;
    }
    for (;;) {
        /* read() returns as soon as *some* bytes arrived, 0 at EOF. */
        ssize_t n = read(fd, buffer, BUFFER_BYTES);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; /* EOF (the client half-closed) or an error */
        if (write_all(fd, buffer, (size_t)n) < 0) break;
    }
    free(buffer);
    close(fd); /* after EOF everything is echoed: closing is our FIN */
    return NULL;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 9000;
    const char *host = argc > 2 ? argv[2] : "127.0.0.1";
    if (port < 1 || port > 65535) {
        fprintf(stderr, "usage: %s [port 1-65535] [host]\n", argv[0]);
        return 2;
    }

    /* Writing to a socket the peer has reset raises SIGPIPE, whose default
     * action kills the whole process. Ignore it: write() returns EPIPE. */
    signal(SIGPIPE, SIG_IGN);

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) {
        perror("socket");
        return 1;
    }
    /* Without SO_REUSEADDR a restarted server cannot bind while old
     * connections sit in TIME_WAIT ("Address already in use"). */
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);

    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port); /* network byte order: forgetting htons is a classic */
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "not an IPv4 address: %s\n", host);
        return 2;
    }
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("bind");
        return 1;
    }
    if (listen(listener, SOMAXCONN) < 0) {
        perror("listen");
        return 1;
    }
    printf("echo server listening on %s:%d\n", host, port);
    fflush(stdout);

    useconds_t pause = 0; /* how long to wait after running out of descriptors */
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || client_gone(errno)) continue;
            if (!out_of_descriptors(errno)) {
                perror("accept"); /* EBADF, EINVAL: a bug here, not a client */
                return 1;
            }
            /* Out of descriptors (or socket memory): our fault. accept()
             * would fail again at once, so do not spin on it. Wait, longer
             * each time, while the threads serve the clients we have and
             * free descriptors as they close; new clients wait in the
             * kernel's accept queue meanwhile. Say so once, not per try. */
            if (pause == 0) {
                perror("accept (backing off)");
                pause = MIN_ACCEPT_PAUSE_US;
            } else {
                pause = pause * 2 > MAX_ACCEPT_PAUSE_US ? MAX_ACCEPT_PAUSE_US : pause * 2;
            }
            usleep(pause);
            continue;
        }
        pause = 0;
        /* Nagle's algorithm would hold back small echoes until the client
         * ACKs, and the client delays its ACK ~40 ms: turn it off. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

        pthread_t thread;
        if (pthread_create(&thread, NULL, serve_connection, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        /* Detached: the thread frees its own resources when it ends, and
         * the accept loop never waits for it. */
        pthread_detach(thread);
    }
}
