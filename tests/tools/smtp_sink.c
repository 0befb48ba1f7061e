/* smtp_sink.c - a tiny SMTP server for tests that stores each message.
 * SPDX-License-Identifier: Apache-2.0 */

/*
 * smtp_sink PORTFILE OUTDIR
 *
 * Listens on 127.0.0.1 on an ephemeral port, writes "PORT\n" to PORTFILE
 * (tmp + rename) once listening, and speaks the subset of SMTP that
 * libcurl's client uses: EHLO/HELO, MAIL FROM:<a> [SIZE=n ...],
 * RCPT TO:<a>, DATA, RSET, NOOP, QUIT. Anything else gets 502. Neither
 * AUTH nor STARTTLS is offered.
 *
 * Each accepted message becomes OUTDIR/<ms>-<n>.eml, written to
 * <ms>-<n>.eml.tmp first and renamed, and only then is "250 OK queued as
 * <n>" sent. The file holds, each line ending in CRLF,
 *
 *   X-Sink-Mail-From: <reverse-path, without <>, empty for the null sender>
 *   X-Sink-Rcpt-To: <forward-path, without <>>      (one per RCPT, in order)
 *   X-Sink-Received-Ms: <ms since the epoch, the same <ms> as the name>
 *
 * followed by the message data byte for byte as received, leading dots
 * unstuffed, up to and including the CRLF before the final ".".
 *
 * SMTP_SINK_FAIL_FIRST=N answers "451 try again later" to the first N
 * messages (nothing stored), so a test can watch a sender retry.
 *
 * One event loop, no threads. SIGTERM or SIGINT stop it cleanly.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define SINK_NAME "smtp-sink"
#define MAX_LINE 4096                  /* command line, without CRLF */
#define MAX_MESSAGE (10 * 1024 * 1024) /* message data, after unstuffing */
#define MAX_RCPTS 100
#define MAX_CONNS 512
#define IDLE_SECS 60
#define OUT_HIGH (64 * 1024) /* stop reading while this many replies wait */
#define DATA_CHUNK 16384

enum conn_state { CONN_COMMAND, CONN_DATA, CONN_CLOSING };

/* Where the DATA scanner stands in the line structure; "BOL" is just after
 * CRLF, or at the very start, which counts as after the DATA line's CRLF. */
enum data_state { DATA_BOL, DATA_DOT, DATA_DOT_CR, DATA_LINE, DATA_CR };

struct sink;

struct conn {
    struct sink *sink;
    struct bufferevent *bev;
    struct conn *prev, *next;
    enum conn_state state;
    enum data_state dstate;
    int skipping;    /* discarding the rest of an overlong command line */
    int paused;      /* reading stopped until the client takes its replies */
    char *mail_from; /* NULL until MAIL succeeds */
    char *rcpts[MAX_RCPTS];
    size_t nrcpts;
    struct evbuffer *msg; /* the message so far, during DATA */
    size_t msg_len;
    int too_big;
};

struct sink {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *sigterm, *sigint;
    const char *outdir;
    struct conn *conns;
    size_t nconns;
    unsigned long stored;    /* messages stored, the last <n> used */
    unsigned long fail_left; /* from SMTP_SINK_FAIL_FIRST */
};

static void
oom(void)
{
    fputs("smtp_sink: out of memory\n", stderr);
    abort();
}

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);

    if (p == NULL)
        oom();
    return p;
}

static char *
xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);

    if (p == NULL)
        oom();
    return p;
}

static char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom();
    return s;
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reply(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Queues one reply; FMT has no CRLF at the end (multiline replies carry
 * their inner ones). */
static void
reply(struct conn *c, const char *fmt, ...)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    va_list ap;

    va_start(ap, fmt);
    if (evbuffer_add_vprintf(out, fmt, ap) < 0 ||
        evbuffer_add(out, "\r\n", 2) < 0)
        oom();
    va_end(ap);
}

/* Forgets MAIL, RCPT and any message data. */
static void
conn_reset_txn(struct conn *c)
{
    size_t i;

    free(c->mail_from);
    c->mail_from = NULL;
    for (i = 0; i < c->nrcpts; i++)
        free(c->rcpts[i]);
    c->nrcpts = 0;
    if (c->msg != NULL)
        evbuffer_free(c->msg);
    c->msg = NULL;
    c->msg_len = 0;
    c->too_big = 0;
}

static void
conn_free(struct conn *c)
{
    struct sink *s = c->sink;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->nconns--;
    bufferevent_free(c->bev);
    conn_reset_txn(c);
    free(c);
}

/* Stops reading; write_cb frees C once the queued replies are out. Callers
 * always queue a reply first, so write_cb is sure to run. */
static void
conn_close(struct conn *c)
{
    c->state = CONN_CLOSING;
    bufferevent_disable(c->bev, EV_READ);
}

/* Writes all of BUF to FD, draining it. */
static int
write_buffer(int fd, struct evbuffer *buf)
{
    while (evbuffer_get_length(buf) > 0) {
        int n = evbuffer_write(buf, fd);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
    }
    return 0;
}

/* Stores the transaction of C as OUTDIR/<ms>-<n>.eml, atomically. Sets
 * *ID to <n> on success. */
static int
sink_store(struct sink *s, struct conn *c, unsigned long *id)
{
    long long ms = now_ms();
    unsigned long n = s->stored + 1;
    char *path = xasprintf("%s/%lld-%lu.eml", s->outdir, ms, n);
    char *tmp = xasprintf("%s.tmp", path);
    struct evbuffer *head = evbuffer_new();
    size_t i;
    int fd, rc = -1;

    if (head == NULL)
        oom();
    evbuffer_add_printf(head, "X-Sink-Mail-From: %s\r\n", c->mail_from);
    for (i = 0; i < c->nrcpts; i++)
        evbuffer_add_printf(head, "X-Sink-Rcpt-To: %s\r\n", c->rcpts[i]);
    evbuffer_add_printf(head, "X-Sink-Received-Ms: %lld\r\n", ms);

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "smtp_sink: cannot create %s: %s\n", tmp,
                strerror(errno));
        goto out;
    }
    if (write_buffer(fd, head) < 0 || write_buffer(fd, c->msg) < 0) {
        fprintf(stderr, "smtp_sink: cannot write %s: %s\n", tmp,
                strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        fprintf(stderr, "smtp_sink: cannot store %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
        goto out;
    }
    s->stored = n;
    *id = n;
    rc = 0;
    fprintf(stderr, "smtp_sink: stored %s (%zu bytes, %zu rcpt)\n", path,
            c->msg_len, c->nrcpts);
out:
    evbuffer_free(head);
    free(tmp);
    free(path);
    return rc;
}

/* Splits "<addr> rest" or "addr rest" at S into a new *ADDR and *REST. */
static int
parse_path(const char *s, char **addr, const char **rest)
{
    const char *end;

    while (*s == ' ')
        s++;
    if (*s == '<') {
        end = strchr(s + 1, '>');
        if (end == NULL)
            return -1;
        *addr = xstrndup(s + 1, (size_t)(end - s - 1));
        end++;
    } else {
        end = s + strcspn(s, " ");
        if (end == s)
            return -1;
        *addr = xstrndup(s, (size_t)(end - s));
    }
    if (*end != '\0' && *end != ' ') {
        free(*addr);
        return -1;
    }
    *rest = end;
    return 0;
}

/* Checks the MAIL parameters: SIZE=n is compared with our limit, the
 * rest (BODY=, AUTH=, SMTPUTF8 ...) accepted and ignored. Returns the
 * reply code to send, 250 when all is well. */
static int
check_mail_params(const char *p)
{
    while (*p != '\0') {
        size_t n;

        while (*p == ' ')
            p++;
        n = strcspn(p, " ");
        if (n > 5 && strncasecmp(p, "SIZE=", 5) == 0) {
            char *end;
            unsigned long long size;

            errno = 0;
            size = strtoull(p + 5, &end, 10);
            if (errno != 0 || end != p + n || p[5] == '-')
                return 501;
            if (size > MAX_MESSAGE)
                return 552;
        }
        p += n;
    }
    return 250;
}

static void
cmd_helo(struct conn *c, const char *arg)
{
    if (*arg == '\0') {
        reply(c, "501 syntax: HELO hostname");
        return;
    }
    conn_reset_txn(c);
    reply(c, "250 " SINK_NAME);
}

static void
cmd_ehlo(struct conn *c, const char *arg)
{
    if (*arg == '\0') {
        reply(c, "501 syntax: EHLO hostname");
        return;
    }
    conn_reset_txn(c);
    reply(c, "250-" SINK_NAME "\r\n250-SIZE %d\r\n250 8BITMIME", MAX_MESSAGE);
}

static void
cmd_mail(struct conn *c, const char *arg)
{
    const char *rest;
    char *addr;
    int code;

    if (c->mail_from != NULL) {
        reply(c, "503 nested MAIL command");
        return;
    }
    if (strncasecmp(arg, "FROM:", 5) != 0 ||
        parse_path(arg + 5, &addr, &rest) < 0) {
        reply(c, "501 syntax: MAIL FROM:<address>");
        return;
    }
    code = check_mail_params(rest);
    if (code != 250) {
        free(addr);
        if (code == 552)
            reply(c, "552 message size exceeds fixed maximum of %d bytes",
                  MAX_MESSAGE);
        else
            reply(c, "501 bad SIZE parameter");
        return;
    }
    c->mail_from = addr;
    reply(c, "250 OK");
}

static void
cmd_rcpt(struct conn *c, const char *arg)
{
    const char *rest;
    char *addr;

    if (c->mail_from == NULL) {
        reply(c, "503 need MAIL before RCPT");
        return;
    }
    if (strncasecmp(arg, "TO:", 3) != 0 ||
        parse_path(arg + 3, &addr, &rest) < 0) {
        reply(c, "501 syntax: RCPT TO:<address>");
        return;
    }
    if (*addr == '\0') {
        free(addr);
        reply(c, "501 empty recipient");
        return;
    }
    if (c->nrcpts == MAX_RCPTS) {
        free(addr);
        reply(c, "452 too many recipients");
        return;
    }
    c->rcpts[c->nrcpts++] = addr;
    reply(c, "250 OK");
}

static void
cmd_data(struct conn *c, const char *arg)
{
    if (c->mail_from == NULL) {
        reply(c, "503 need MAIL command");
        return;
    }
    if (c->nrcpts == 0) {
        reply(c, "503 need RCPT command");
        return;
    }
    if (*arg != '\0') {
        reply(c, "501 syntax: DATA");
        return;
    }
    c->msg = evbuffer_new();
    if (c->msg == NULL)
        oom();
    c->msg_len = 0;
    c->too_big = 0;
    c->state = CONN_DATA;
    c->dstate = DATA_BOL;
    reply(c, "354 end data with <CR><LF>.<CR><LF>");
}

static void
cmd_rset(struct conn *c, const char *arg)
{
    (void)arg;
    conn_reset_txn(c);
    reply(c, "250 OK");
}

static void
cmd_noop(struct conn *c, const char *arg)
{
    (void)arg;
    reply(c, "250 OK");
}

static void
cmd_quit(struct conn *c, const char *arg)
{
    (void)arg;
    reply(c, "221 " SINK_NAME " closing connection");
    conn_close(c);
}

static const struct command {
    const char *verb;
    void (*run)(struct conn *c, const char *arg);
} commands[] = {
    {"EHLO", cmd_ehlo}, {"HELO", cmd_helo}, {"MAIL", cmd_mail},
    {"RCPT", cmd_rcpt}, {"DATA", cmd_data}, {"RSET", cmd_rset},
    {"NOOP", cmd_noop}, {"QUIT", cmd_quit},
};

static void
conn_dispatch(struct conn *c, const char *line)
{
    size_t n = strcspn(line, " ");
    const char *arg = line + n;
    size_t i;

    while (*arg == ' ')
        arg++;
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strlen(commands[i].verb) == n &&
            strncasecmp(line, commands[i].verb, n) == 0) {
            commands[i].run(c, arg);
            return;
        }
    }
    reply(c, "502 command not implemented");
}

/* Handles one command line from IN. Returns -1 when IN holds no whole line
 * yet. */
static int
conn_read_command(struct conn *c, struct evbuffer *in)
{
    size_t len;
    char *line;

    if (c->skipping) {
        struct evbuffer_ptr eol = evbuffer_search(in, "\n", 1, NULL);

        if (eol.pos < 0) {
            evbuffer_drain(in, evbuffer_get_length(in));
            return -1;
        }
        evbuffer_drain(in, (size_t)eol.pos + 1);
        c->skipping = 0;
        return 0;
    }
    line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
    if (line == NULL) {
        if (evbuffer_get_length(in) > MAX_LINE) {
            reply(c, "500 line too long");
            evbuffer_drain(in, evbuffer_get_length(in));
            c->skipping = 1;
        }
        return -1;
    }
    if (len > MAX_LINE)
        reply(c, "500 line too long");
    else if (memchr(line, '\0', len) != NULL)
        reply(c, "500 NUL in command");
    else
        conn_dispatch(c, line);
    free(line);
    return 0;
}

/* The final "." has arrived: store the message or refuse it. */
static void
conn_end_data(struct conn *c)
{
    struct sink *s = c->sink;
    unsigned long id;

    c->state = CONN_COMMAND;
    if (c->too_big) {
        reply(c, "552 message exceeds fixed maximum of %d bytes", MAX_MESSAGE);
    } else if (s->fail_left > 0) {
        s->fail_left--;
        fprintf(stderr,
                "smtp_sink: refused a message on purpose "
                "(SMTP_SINK_FAIL_FIRST), %lu more to refuse\n",
                s->fail_left);
        reply(c, "451 try again later");
    } else if (sink_store(s, c, &id) == 0) {
        reply(c, "250 OK queued as %lu", id);
    } else {
        reply(c, "451 local error in processing");
    }
    conn_reset_txn(c);
}

/* Moves message data from IN into c->msg, undoing dot-stuffing, up to the
 * terminating CRLF.CRLF. Only CRLF ends a line here, as it does for
 * libcurl's dot-stuffing, so bare LFs pass through untouched. */
static void
conn_read_data(struct conn *c, struct evbuffer *in)
{
    unsigned char buf[DATA_CHUNK];
    unsigned char out[2 * DATA_CHUNK];
    ev_ssize_t got = evbuffer_copyout(in, buf, sizeof(buf));
    size_t i, o = 0;
    int done = 0;

    for (i = 0; i < (size_t)got && !done; i++) {
        unsigned char ch = buf[i];

        switch (c->dstate) {
        case DATA_BOL:
            if (ch == '.') {
                c->dstate = DATA_DOT;
                break;
            }
            out[o++] = ch;
            c->dstate = ch == '\r' ? DATA_CR : DATA_LINE;
            break;
        case DATA_LINE:
            out[o++] = ch;
            if (ch == '\r')
                c->dstate = DATA_CR;
            break;
        case DATA_CR:
            out[o++] = ch;
            c->dstate = ch == '\n'   ? DATA_BOL
                        : ch == '\r' ? DATA_CR
                                     : DATA_LINE;
            break;
        case DATA_DOT:
            /* A leading dot before anything but CRLF is stuffing. */
            if (ch == '\r') {
                c->dstate = DATA_DOT_CR;
                break;
            }
            out[o++] = ch;
            c->dstate = DATA_LINE;
            break;
        case DATA_DOT_CR:
            if (ch == '\n') {
                done = 1;
                break;
            }
            out[o++] = '\r';
            out[o++] = ch;
            c->dstate = ch == '\r' ? DATA_CR : DATA_LINE;
            break;
        }
    }
    evbuffer_drain(in, i);

    /* Past the limit, keep reading to the end but store nothing. */
    if (!c->too_big && c->msg_len + o > MAX_MESSAGE) {
        c->too_big = 1;
        evbuffer_drain(c->msg, evbuffer_get_length(c->msg));
    }
    if (!c->too_big) {
        if (evbuffer_add(c->msg, out, o) < 0)
            oom();
        c->msg_len += o;
    }
    if (done)
        conn_end_data(c);
}

/* Works through whatever input is buffered, pausing while too many
 * replies wait for a client that does not read them. */
static void
conn_process(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);

    while (c->state != CONN_CLOSING && evbuffer_get_length(in) > 0) {
        if (evbuffer_get_length(out) > OUT_HIGH) {
            c->paused = 1;
            bufferevent_disable(c->bev, EV_READ);
            return;
        }
        if (c->state == CONN_DATA)
            conn_read_data(c, in);
        else if (conn_read_command(c, in) < 0)
            return;
    }
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_process(arg);
}

/* Runs when all queued replies are written. */
static void
write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    (void)bev;
    if (c->state == CONN_CLOSING) {
        conn_free(c);
    } else if (c->paused) {
        c->paused = 0;
        bufferevent_enable(c->bev, EV_READ);
        conn_process(c);
    }
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
        c->state != CONN_CLOSING) {
        reply(c, "421 " SINK_NAME " idle for %d s, closing", IDLE_SECS);
        conn_close(c);
    } else if ((what & BEV_EVENT_EOF) && c->state != CONN_CLOSING &&
               evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        conn_close(c); /* the client half-closed: still send the replies */
    } else {
        conn_free(c);
    }
}

static void
accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
          struct sockaddr *sa, int socklen, void *arg)
{
    static const char busy[] = "421 " SINK_NAME " too many connections\r\n";
    struct sink *s = arg;
    struct timeval idle = {IDLE_SECS, 0};
    struct conn *c;

    (void)listener;
    (void)sa;
    (void)socklen;
    if (s->nconns >= MAX_CONNS) {
        (void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        evutil_closesocket(fd);
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->sink = s;
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL)
        oom();
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_set_timeouts(c->bev, &idle, &idle);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    reply(c, "220 " SINK_NAME " ESMTP");
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct sink *s = arg;

    (void)sig;
    (void)what;
    event_base_loopbreak(s->base);
}

/* Writes "PORT\n" to PATH so that a reader sees all of it or nothing. */
static int
write_port_file(const char *path, int port)
{
    char *tmp = xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int rc = -1;

    if (f == NULL) {
        fprintf(stderr, "smtp_sink: cannot create %s: %s\n", tmp,
                strerror(errno));
        goto out;
    }
    if (fprintf(f, "%d\n", port) < 0 || fclose(f) != 0) {
        fprintf(stderr, "smtp_sink: cannot write %s\n", tmp);
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        fprintf(stderr, "smtp_sink: cannot rename %s to %s: %s\n", tmp, path,
                strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    free(tmp);
    return rc;
}

static int
parse_fail_first(unsigned long *n)
{
    const char *v = getenv("SMTP_SINK_FAIL_FIRST");
    char *end;

    *n = 0;
    if (v == NULL || *v == '\0')
        return 0;
    errno = 0;
    *n = strtoul(v, &end, 10);
    if (errno != 0 || *end != '\0' || *v < '0' || *v > '9') {
        fprintf(stderr,
                "smtp_sink: SMTP_SINK_FAIL_FIRST=%s: want a "
                "non-negative integer\n",
                v);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct sink s = {0};
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    struct stat st;
    int rc = 1;

    if (argc != 3) {
        fputs("usage: smtp_sink PORTFILE OUTDIR\n", stderr);
        return 2;
    }
    if (parse_fail_first(&s.fail_left) < 0)
        return 2;
    if (stat(argv[2], &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "smtp_sink: %s: not a directory; create it first\n",
                argv[2]);
        return 2;
    }
    s.outdir = argv[2];
    signal(SIGPIPE, SIG_IGN);

    s.base = event_base_new();
    if (s.base == NULL)
        oom();
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    s.listener = evconnlistener_new_bind(
        s.base, accept_cb, &s,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, -1,
        (struct sockaddr *)&sin, sizeof(sin));
    if (s.listener == NULL) {
        fprintf(stderr, "smtp_sink: cannot listen on 127.0.0.1: %s\n",
                strerror(errno));
        goto out;
    }
    if (getsockname(evconnlistener_get_fd(s.listener), (struct sockaddr *)&sin,
                    &slen) < 0) {
        fprintf(stderr, "smtp_sink: getsockname: %s\n", strerror(errno));
        goto out;
    }
    s.sigterm = evsignal_new(s.base, SIGTERM, signal_cb, &s);
    s.sigint = evsignal_new(s.base, SIGINT, signal_cb, &s);
    if (s.sigterm == NULL || s.sigint == NULL)
        oom();
    if (evsignal_add(s.sigterm, NULL) < 0 || evsignal_add(s.sigint, NULL) < 0) {
        fputs("smtp_sink: cannot watch SIGTERM and SIGINT\n", stderr);
        goto out;
    }
    if (write_port_file(argv[1], ntohs(sin.sin_port)) < 0)
        goto out;
    fprintf(stderr, "smtp_sink: listening on 127.0.0.1:%d, storing in %s\n",
            ntohs(sin.sin_port), s.outdir);

    if (event_base_dispatch(s.base) < 0) {
        fputs("smtp_sink: event loop failed\n", stderr);
        goto out;
    }
    rc = 0;
out:
    while (s.conns != NULL)
        conn_free(s.conns);
    if (s.listener != NULL)
        evconnlistener_free(s.listener);
    if (s.sigterm != NULL)
        event_free(s.sigterm);
    if (s.sigint != NULL)
        event_free(s.sigint);
    event_base_free(s.base);
    libevent_global_shutdown();
    return rc;
}
