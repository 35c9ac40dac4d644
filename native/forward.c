/*
 * selkie-helper forward NETNS_PATH READY_FD TAG RULE...
 *
 * A user-space port forwarder (what Podman calls rootlessport): listens on
 * host ports in the network namespace it starts in and relays every TCP
 * connection and UDP flow to a target address that is reached from inside
 * another network namespace (the one holding the bridges of user-defined
 * networks).  RULE is tcp|udp:HOSTIP:HOSTPORT:TARGETIP:TARGETPORT; an IPv6
 * address is written in brackets ([::1]).
 *
 * Order: every listener is bound first (in the caller's netns), then the
 * process joins NETNS_PATH (setns), so that every socket made afterwards, the
 * ones toward the targets, lives there.  Any failure before that point prints
 * one line to stderr and exits 1; success writes one byte to READY_FD.
 *
 * One thread, one epoll set, every socket non-blocking.  TCP sockets are
 * edge-triggered: on any event for either side of a connection, pump() moves
 * what it can both ways through a bounded buffer per direction (a full buffer
 * stops reading from its source: backpressure) until nothing moves, and
 * passes on a half-close once the buffer toward that side is drained.  A pair
 * that keeps moving data goes on a ready list instead of starving the others.
 * UDP: one connected socket per client address and listener (at most
 * MAX_FLOWS, the least recently used one is dropped for a new one), replies
 * go back through the listening socket, idle flows expire after FLOW_IDLE s.
 * Memory: a connection's two buffers are allocated when it is accepted and
 * freed when it closes; nothing else is allocated per byte or per datagram.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

#define BUF_SIZE (256 * 1024) /* pipe capacity asked for, per direction of a TCP connection */
#define PAIR_FDS 6             /* two sockets and a pipe per direction */
#define MAX_FDS 4096         /* sockets of connections and flows, listeners aside */
#define MAX_FLOWS 1024
#define FLOW_IDLE 60   /* seconds */
#define PUMP_ROUNDS 16 /* rounds of pump() before a pair yields to the others */
#define UDP_BURST 64   /* datagrams per event */

enum kind { K_TCP_LISTEN, K_UDP_LISTEN, K_CLIENT, K_TARGET, K_FLOW };

/* What an epoll event points at: the first member of each object below. */
struct ep {
  enum kind kind;
  int fd;
};

union addr {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
};

struct listener {
  struct ep ep;
  union addr target;
  socklen_t target_len;
  int paused; /* out of the epoll set while at the fd cap */
  const char *rule;
};

/* A direction's data in flight: a pipe that splice(2) moves it through
 * without copying it to user space. */
struct buf {
  int rd, wr;
  size_t len, cap; /* bytes in the pipe, and what it holds */
};

/* A TCP connection: direction 0 is client -> target, 1 is target -> client. */
struct pair {
  struct ep c, t;
  struct buf b[2];
  unsigned char eof[2];  /* read end of file from the source of direction d */
  unsigned char shut[2]; /* shutdown(SHUT_WR) sent to the sink of direction d */
  unsigned char connecting, dead, queued;
  struct pair *next_ready, *next_dead;
};

struct flow {
  struct ep ep;
  struct listener *l;
  union addr client;
  socklen_t client_len;
  time_t last;
  int dead;
  struct flow *prev, *next; /* live flows */
  struct flow *next_dead;
};

static int epfd = -1;
static struct listener *listeners;
static int nlisteners;
static int nopen;  /* sockets of connections and flows */
static int fd_cap; /* MAX_FDS, or less when RLIMIT_NOFILE is lower */
static int npaused;
static struct pair *ready_list, *dead_pairs;
static struct flow *flows, *dead_flows;
static int nflows;
static char dgram[65536]; /* one datagram at a time, never kept */

static void on_term(int sig) {
  (void)sig;
  _exit(0);
}

static void fwd_fail(const char *what, const char *rule) {
  int e = errno;
  if (rule) fprintf(stderr, "selkie-helper forward: %s %s: %s\n", what, rule, strerror(e));
  else fprintf(stderr, "selkie-helper forward: %s: %s\n", what, strerror(e));
  exit(1);
}

static time_t now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

/* "1.2.3.4" or "[::1]" up to the next ':' (consumed); *s moves past it. */
static int parse_host(char **s, union addr *a, socklen_t *len) {
  char *p = *s, *end;
  memset(a, 0, sizeof *a);
  if (*p == '[') {
    end = strchr(p, ']');
    if (!end || end[1] != ':') return -1;
    *end = '\0';
    if (inet_pton(AF_INET6, p + 1, &a->in6.sin6_addr) != 1) return -1;
    a->in6.sin6_family = AF_INET6;
    *len = sizeof a->in6;
    *s = end + 2;
    return 0;
  }
  end = strchr(p, ':');
  if (!end) return -1;
  *end = '\0';
  if (inet_pton(AF_INET, p, &a->in4.sin_addr) != 1) return -1;
  a->in4.sin_family = AF_INET;
  *len = sizeof a->in4;
  *s = end + 1;
  return 0;
}

/* A decimal port 1..65535 up to STOP (':' or '\0'); *s moves past it. */
static int parse_port(char **s, char stop, union addr *a) {
  char *p = *s;
  long v = 0;
  if (*p < '0' || *p > '9') return -1;
  while (*p >= '0' && *p <= '9' && v <= 65535) v = v * 10 + (*p++ - '0');
  if (*p != stop || v < 1 || v > 65535) return -1;
  if (a->sa.sa_family == AF_INET) a->in4.sin_port = htons((unsigned short)v);
  else a->in6.sin6_port = htons((unsigned short)v);
  *s = stop ? p + 1 : p;
  return 0;
}

/* Parses RULE and binds its host socket; the rule text stays for messages. */
static void setup_listener(struct listener *l, const char *rule) {
  char copy[256], shown[300];
  union addr host;
  socklen_t host_len;
  int udp;
  if (strncmp(rule, "tcp:", 4) == 0) udp = 0;
  else if (strncmp(rule, "udp:", 4) == 0) udp = 1;
  else goto bad;
  if (strlen(rule) >= sizeof copy) goto bad;
  strcpy(copy, rule);
  char *p = copy + 4;
  const char *host_text = p;
  if (parse_host(&p, &host, &host_len) < 0) goto bad;
  const char *port_text = p;
  if (parse_port(&p, ':', &host) < 0) goto bad;
  p[-1] = '\0'; /* host_text..port_text is now "HOST\0PORT" */
  if (parse_host(&p, &l->target, &l->target_len) < 0 || parse_port(&p, '\0', &l->target) < 0) goto bad;

  /* "127.0.0.1:8080/tcp", "[::1]:8080/udp" */
  snprintf(shown, sizeof shown, "%s%s%s:%s/%s", host.sa.sa_family == AF_INET6 ? "[" : "",
           host.sa.sa_family == AF_INET6 ? host_text + 1 : host_text, host.sa.sa_family == AF_INET6 ? "]" : "",
           port_text, udp ? "udp" : "tcp");
  l->rule = strdup(shown);
  l->ep.kind = udp ? K_UDP_LISTEN : K_TCP_LISTEN;
  l->ep.fd = socket(host.sa.sa_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (l->ep.fd < 0) fwd_fail("cannot create a socket for", l->rule);
  int one = 1;
  if (!udp) setsockopt(l->ep.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (host.sa.sa_family == AF_INET6) setsockopt(l->ep.fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(l->ep.fd, &host.sa, host_len) < 0) fwd_fail("cannot bind", l->rule);
  if (!udp && listen(l->ep.fd, 128) < 0) fwd_fail("cannot listen on", l->rule);
  return;
bad:
  fprintf(stderr, "selkie-helper forward: invalid rule \"%s\" (want tcp|udp:HOSTIP:HOSTPORT:TARGETIP:TARGETPORT)\n", rule);
  exit(1);
}

/* 0, or -1 when epoll cannot take the descriptor (ENOMEM, ENOSPC): the
 * caller drops that connection or flow; the others go on. */
static int watch(struct ep *e, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = e};
  return epoll_ctl(epfd, EPOLL_CTL_ADD, e->fd, &ev);
}

/* --- TCP --- */

static struct pair *pair_of(struct ep *e) {
  return e->kind == K_CLIENT ? (struct pair *)e : (struct pair *)((char *)e - offsetof(struct pair, t));
}

static void close_pair(struct pair *p) {
  if (p->dead) return;
  p->dead = 1;
  close(p->c.fd);
  if (p->t.fd >= 0) close(p->t.fd);
  for (int d = 0; d < 2; d++) {
    close(p->b[d].rd);
    close(p->b[d].wr);
  }
  nopen -= PAIR_FDS;
  p->next_dead = dead_pairs; /* freed after this round of events */
  dead_pairs = p;
}

/* Moves what FD has into B's pipe; 1: something happened, 0: nothing to do now, -1: error. */
static int fill(int fd, struct buf *b, unsigned char *eof) {
  if (*eof || b->len >= b->cap) return 0;
  ssize_t n = splice(fd, NULL, b->wr, NULL, b->cap - b->len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (n > 0) {
    b->len += (size_t)n;
    return 1;
  }
  if (n == 0) {
    *eof = 1;
    return 1;
  }
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
}

/* Moves B's pipe into FD; same results as fill. */
static int drain(int fd, struct buf *b) {
  if (!b->len) return 0;
  ssize_t n = splice(b->rd, NULL, fd, NULL, b->len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (n > 0) {
    b->len -= (size_t)n;
    return 1;
  }
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
}

/* A direction's pipe, as large as allowed up to BUF_SIZE; 0, or -1. */
static int open_buf(struct buf *b) {
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return -1;
  b->rd = fds[0];
  b->wr = fds[1];
  b->len = 0;
  fcntl(b->wr, F_SETPIPE_SZ, BUF_SIZE); /* the default (64 KiB) where not allowed */
  int cap = fcntl(b->wr, F_GETPIPE_SZ);
  b->cap = cap > 0 ? (size_t)cap : 65536;
  return 0;
}

/* Moves what can be moved, both ways; sockets are edge-triggered, so this
 * runs until nothing moves (or yields, staying on the ready list). */
static void pump(struct pair *p) {
  for (int round = 0; round < PUMP_ROUNDS; round++) {
    int moved = 0;
    for (int d = 0; d < 2; d++) {
      int from = d ? p->t.fd : p->c.fd, to = d ? p->c.fd : p->t.fd, r;
      if (!(d == 1 && p->connecting)) {
        if ((r = fill(from, &p->b[d], &p->eof[d])) < 0) goto close;
        moved |= r;
      }
      if (p->connecting) continue;
      if ((r = drain(to, &p->b[d])) < 0) goto close;
      moved |= r;
      if (p->eof[d] && !p->b[d].len && !p->shut[d]) {
        shutdown(to, SHUT_WR);
        p->shut[d] = 1;
      }
    }
    if (p->shut[0] && p->shut[1]) goto close; /* both directions finished */
    if (!moved) return;
  }
  if (!p->queued) {
    p->queued = 1;
    p->next_ready = ready_list;
    ready_list = p;
  }
  return;
close:
  close_pair(p);
}

static void on_pair(struct pair *p, int target_side) {
  if (target_side && p->connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(p->t.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
      close_pair(p); /* refused or unreachable: the client is closed */
      return;
    }
    p->connecting = 0;
  }
  pump(p);
}

static void pause_listener(struct listener *l) {
  if (l->paused) return;
  epoll_ctl(epfd, EPOLL_CTL_DEL, l->ep.fd, NULL);
  l->paused = 1;
  npaused++;
}

static void resume_listeners(void) {
  for (int i = 0; i < nlisteners && npaused && nopen + PAIR_FDS <= fd_cap; i++)
    if (listeners[i].paused) {
      if (watch(&listeners[i].ep, EPOLLIN) < 0) continue; /* stays paused: retried at the next close */
      listeners[i].paused = 0;
      npaused--;
    }
}

static void on_accept(struct listener *l) {
  for (;;) {
    if (nopen + PAIR_FDS > fd_cap) {
      pause_listener(l); /* new connections wait in the backlog */
      return;
    }
    int c = accept4(l->ep.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) pause_listener(l);
      return; /* EAGAIN, or a connection that went away before accept */
    }
    struct pair *p = calloc(1, sizeof *p);
    int t = socket(l->target.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (!p || t < 0 || open_buf(&p->b[0]) < 0) {
      close(c);
      if (t >= 0) close(t);
      free(p);
      continue;
    }
    if (open_buf(&p->b[1]) < 0) {
      close(c);
      close(t);
      close(p->b[0].rd);
      close(p->b[0].wr);
      free(p);
      continue;
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    p->c = (struct ep){K_CLIENT, c};
    p->t = (struct ep){K_TARGET, t};
    nopen += PAIR_FDS;
    if (connect(t, &l->target.sa, l->target_len) < 0) {
      if (errno != EINPROGRESS) {
        close_pair(p);
        continue;
      }
      p->connecting = 1;
    }
    if (watch(&p->c, EPOLLIN | EPOLLOUT | EPOLLET) < 0 || watch(&p->t, EPOLLIN | EPOLLOUT | EPOLLET) < 0) close_pair(p);
  }
}

/* --- UDP --- */

static void close_flow(struct flow *f) {
  if (f->dead) return;
  f->dead = 1;
  close(f->ep.fd);
  nopen--;
  nflows--;
  if (f->prev) f->prev->next = f->next;
  else flows = f->next;
  if (f->next) f->next->prev = f->prev;
  f->next_dead = dead_flows;
  dead_flows = f;
}

static int same_addr(const union addr *a, const union addr *b) {
  if (a->sa.sa_family != b->sa.sa_family) return 0;
  if (a->sa.sa_family == AF_INET)
    return a->in4.sin_port == b->in4.sin_port && a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
  return a->in6.sin6_port == b->in6.sin6_port && memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

static struct flow *flow_for(struct listener *l, const union addr *client, socklen_t client_len) {
  struct flow *f, *oldest = NULL;
  for (f = flows; f; f = f->next) {
    if (f->l == l && same_addr(&f->client, client)) return f;
    if (!oldest || f->last < oldest->last) oldest = f;
  }
  if (oldest && (nflows >= MAX_FLOWS || nopen + 1 > fd_cap)) close_flow(oldest);
  if (nflows >= MAX_FLOWS || nopen + 1 > fd_cap) return NULL;
  int s = socket(l->target.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return NULL;
  if (connect(s, &l->target.sa, l->target_len) < 0 || !(f = calloc(1, sizeof *f))) {
    close(s);
    return NULL;
  }
  f->ep = (struct ep){K_FLOW, s};
  f->l = l;
  f->client = *client;
  f->client_len = client_len;
  f->next = flows;
  if (flows) flows->prev = f;
  flows = f;
  nflows++;
  nopen++;
  if (watch(&f->ep, EPOLLIN) < 0) {
    close_flow(f);
    return NULL;
  }
  return f;
}

static void on_udp_in(struct listener *l) {
  for (int i = 0; i < UDP_BURST; i++) {
    union addr client;
    socklen_t len = sizeof client;
    ssize_t n = recvfrom(l->ep.fd, dgram, sizeof dgram, 0, &client.sa, &len);
    if (n < 0) return;
    struct flow *f = flow_for(l, &client, len);
    if (!f) continue; /* dropped, as a full network would */
    f->last = now();
    send(f->ep.fd, dgram, (size_t)n, MSG_NOSIGNAL);
  }
}

static void on_flow(struct flow *f) {
  for (int i = 0; i < UDP_BURST; i++) {
    ssize_t n = recv(f->ep.fd, dgram, sizeof dgram, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      continue; /* ECONNREFUSED from an earlier datagram: the flow stays */
    }
    f->last = now();
    sendto(f->l->ep.fd, dgram, (size_t)n, MSG_NOSIGNAL, &f->client.sa, f->client_len);
  }
}

static void expire_flows(void) {
  time_t t = now();
  for (struct flow *f = flows, *next; f; f = next) {
    next = f->next;
    if (t - f->last >= FLOW_IDLE) close_flow(f);
  }
}

/* --- main loop --- */


/* Everything privileged is done once the sockets exist and the netns is
 * joined: the forwarder serves whoever connects, so it keeps no capability
 * (it runs as root of the session namespace, which owns the user's whole
 * storage) and can gain none. */
static void drop_privileges(void) {
  for (int cap = 0; cap <= 63; cap++)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL) break;
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &hdr, data) < 0) fwd_fail("cannot drop capabilities", NULL);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fwd_fail("cannot set no_new_privs", NULL);
}

int cmd_forward(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: selkie-helper forward NETNS_PATH READY_FD TAG RULE...\n");
    return 1;
  }
  const char *netns = argv[2];
  char *end;
  long ready_fd = strtol(argv[3], &end, 10);
  if (*end || ready_fd < 0 || ready_fd > 1 << 20) {
    fprintf(stderr, "selkie-helper forward: invalid READY_FD \"%s\"\n", argv[3]);
    return 1;
  }

  struct sigaction sa = {.sa_handler = on_term};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  nlisteners = argc - 5;
  listeners = calloc((size_t)nlisteners, sizeof *listeners);
  if (!listeners) fwd_fail("out of memory", NULL);
  for (int i = 0; i < nlisteners; i++) setup_listener(&listeners[i], argv[5 + i]);

  int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) fwd_fail("cannot join the network namespace", netns);
  close(nsfd);

  /* Room for MAX_FDS sockets beside the listeners and a few more. */
  struct rlimit rl;
  rlim_t want = MAX_FDS + (rlim_t)nlisteners + 16;
  fd_cap = MAX_FDS;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want) fd_cap = (int)rl.rlim_cur - nlisteners - 16;
    if (fd_cap < 2) fd_cap = 2;
  }

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) fwd_fail("epoll_create1", NULL);
  for (int i = 0; i < nlisteners; i++)
    if (watch(&listeners[i].ep, EPOLLIN) < 0) fwd_fail("epoll_ctl", NULL);
  drop_privileges();

  if (write((int)ready_fd, "1", 1) != 1) fwd_fail("cannot write to READY_FD", NULL);
  close((int)ready_fd);
  detach_stdio();

  struct epoll_event ev[64];
  time_t last_sweep = now();
  for (;;) {
    if (npaused) resume_listeners();
    int timeout = ready_list ? 0 : npaused ? 1000 : flows ? 5000 : -1;
    int n = epoll_wait(epfd, ev, 64, timeout);
    if (n < 0 && errno != EINTR) fwd_fail("epoll_wait", NULL);
    for (int i = 0; i < n; i++) {
      struct ep *e = ev[i].data.ptr;
      switch (e->kind) {
      case K_TCP_LISTEN: on_accept((struct listener *)e); break;
      case K_UDP_LISTEN: on_udp_in((struct listener *)e); break;
      case K_CLIENT:
      case K_TARGET:
        if (!pair_of(e)->dead) on_pair(pair_of(e), e->kind == K_TARGET);
        break;
      case K_FLOW:
        if (!((struct flow *)e)->dead) on_flow((struct flow *)e);
        break;
      }
    }
    /* Pairs that yielded: one more turn each (they may queue themselves again). */
    struct pair *r = ready_list;
    ready_list = NULL;
    while (r) {
      struct pair *next = r->next_ready;
      r->queued = 0;
      if (!r->dead) pump(r);
      r = next;
    }
    if (flows && now() - last_sweep >= 5) {
      expire_flows();
      last_sweep = now();
    }
    while (dead_pairs) {
      struct pair *p = dead_pairs;
      dead_pairs = p->next_dead;
      free(p);
    }
    while (dead_flows) {
      struct flow *f = dead_flows;
      dead_flows = f->next_dead;
      free(f);
    }
  }
}
