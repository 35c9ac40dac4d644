/*
 * selkie-helper: the steps that must happen between fork and exec in a
 * single-threaded process.  Every decision (which IDs, which program) is made
 * in TypeScript and passed on the command line; this file only carries it out.
 *
 *   selkie-helper pause --pidfile FILE (--uid-map "C H N ..." --gid-map "..."
 *                       [--newuidmap BIN --newgidmap BIN] | --self-map)
 *       Creates the session namespace S (user + mount), has its mappings
 *       written by newuidmap/newgidmap (or maps only the caller with
 *       --self-map), leaves a pause process holding it, records
 *       "PID STARTTIME" in FILE and prints the PID.
 *
 *   selkie-helper pause --pidfile FILE --join PID
 *       The same for an S that outlived its pause process (a container's
 *       conmon, PID, still holds it): the new pause process joins PID's user
 *       and mount namespaces instead of creating new ones.
 *
 *   selkie-helper every MS PID STARTTIME PROGRAM [ARG...]
 *       Runs PROGRAM every MS milliseconds for as long as process PID (with
 *       that start time) lives: the timer of a container's healthcheck, a
 *       few hundred kilobytes resident instead of a Node process or a daemon.
 *
 *   selkie-helper forward NETNS_PATH READY_FD TAG RULE...
 *       The user-space port forwarder of published ports on user-defined
 *       networks (Podman's rootlessport): binds every host port of RULE
 *       (tcp|udp:HOSTIP:HOSTPORT:TARGETIP:TARGETPORT, IPv6 in brackets) in
 *       the current network namespace, then joins NETNS_PATH so that the
 *       connections to the targets are made from there, writes one byte to
 *       READY_FD and relays until SIGTERM.  TAG is ignored (the caller's run
 *       directory, so that /proc/PID/cmdline shows whose forwarder this is).
 *
 * It had a second mode that created the container's namespace itself; crun
 * does that now, from the spec's mappings (see docs/NOTES.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"

static void die(const char *what) {
  fprintf(stderr, "selkie-helper: %s: %s\n", what, strerror(errno));
  _exit(125);
}

static void fail(const char *msg) {
  fprintf(stderr, "selkie-helper: %s\n", msg);
  _exit(125);
}

static int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = strlen(data);
  ssize_t n = write(fd, data, len);
  int saved = errno;
  close(fd);
  errno = saved;
  return n == (ssize_t)len ? 0 : -1;
}

static int run_wait(char *const argv[]) {
  pid_t p = fork();
  if (p < 0) return -1;
  if (p == 0) {
    execv(argv[0], argv);
    fprintf(stderr, "selkie-helper: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int st;
  while (waitpid(p, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* newuidmap PID C H N C H N ... */
static int run_idmap_tool(const char *tool, pid_t pid, const char *spec) {
  char *copy = strdup(spec);
  char *argv[1024];
  int n = 0;
  char pidbuf[32];
  snprintf(pidbuf, sizeof pidbuf, "%d", (int)pid);
  argv[n++] = (char *)tool;
  argv[n++] = pidbuf;
  for (char *tok = strtok(copy, " ,\n"); tok && n < 1022; tok = strtok(NULL, " ,\n")) argv[n++] = tok;
  argv[n] = NULL;
  int rc = run_wait(argv);
  free(copy);
  return rc;
}

static unsigned long long starttime(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (!p) return 0;
  p++;
  for (int field = 3; field < 22; field++) {
    p = strchr(p + 1, ' ');
    if (!p) return 0;
  }
  return strtoull(p + 1, NULL, 10);
}

static const char *opt(int argc, char **argv, const char *name) {
  for (int i = 2; i < argc - 1; i++)
    if (strcmp(argv[i], "--") == 0) break;
    else if (strcmp(argv[i], name) == 0) return argv[i + 1];
  return NULL;
}

static int flag(int argc, char **argv, const char *name) {
  for (int i = 2; i < argc; i++)
    if (strcmp(argv[i], "--") == 0) break;
    else if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

static int cmd_pause(int argc, char **argv) {
  const char *pidfile = opt(argc, argv, "--pidfile");
  const char *uidspec = opt(argc, argv, "--uid-map");
  const char *gidspec = opt(argc, argv, "--gid-map");
  const char *newuidmap = opt(argc, argv, "--newuidmap");
  const char *newgidmap = opt(argc, argv, "--newgidmap");
  const char *join = opt(argc, argv, "--join");
  int self_map = flag(argc, argv, "--self-map");
  if (!pidfile) fail("pause: --pidfile is required");
  if (!join && !self_map && (!uidspec || !gidspec || !newuidmap || !newgidmap))
    fail("pause: --uid-map, --gid-map, --newuidmap and --newgidmap are required without --self-map or --join");

  /* Opened before the fork: the namespaces of a process that may exit any moment. */
  int join_user = -1, join_mnt = -1;
  if (join) {
    char *end;
    long pid = strtol(join, &end, 10);
    if (*end || pid <= 0) fail("pause: --join wants a PID");
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/ns/user", pid);
    join_user = open(path, O_RDONLY | O_CLOEXEC);
    snprintf(path, sizeof path, "/proc/%ld/ns/mnt", pid);
    join_mnt = open(path, O_RDONLY | O_CLOEXEC);
    if (join_user < 0 || join_mnt < 0) die("pause: open the namespaces to join");
  }

  uid_t uid = getuid();
  gid_t gid = getgid();
  int ready[2], go[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0) die("pipe");

  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    close(ready[0]);
    close(go[1]);
    if (join) {
      if (setns(join_user, CLONE_NEWUSER) < 0) die("setns(user)");
      if (setns(join_mnt, CLONE_NEWNS) < 0) die("setns(mount)");
    } else if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
      die("unshare(user, mount)");
    }
    char c = 'r';
    if (write(ready[1], &c, 1) != 1) _exit(125);
    if (read(go[0], &c, 1) != 1 || c != 'g') _exit(125);
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) die("become root of the session namespace");
    /* Host mount events keep propagating in; nothing we mount leaks out.
     * (A joined S was made so when it was created.) */
    if (!join && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) die("make / rslave");
    close(ready[1]);
    close(go[0]);
    if (setsid() < 0) { /* already a leader: fine */ }
    detach_stdio();
    prctl(PR_SET_NAME, "selkie-pause", 0, 0, 0);
    /* The pause process only holds the namespaces; no signal but SIGKILL ends it. */
    for (int s = 1; s < NSIG; s++)
      if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_IGN);
    for (;;) pause();
  }

  close(ready[1]);
  close(go[0]);
  char c;
  if (read(ready[0], &c, 1) != 1) fail("pause: the namespace child died before it was ready");

  int ok = 1;
  if (join) {
    /* mapped long ago */
  } else if (self_map) {
    char path[64], map[64];
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)child);
    if (write_file(path, "deny") < 0) { perror("selkie-helper: write setgroups"); ok = 0; }
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)child);
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
    if (ok && write_file(path, map) < 0) { perror("selkie-helper: write uid_map"); ok = 0; }
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)child);
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
    if (ok && write_file(path, map) < 0) { perror("selkie-helper: write gid_map"); ok = 0; }
  } else {
    if (run_idmap_tool(newuidmap, child, uidspec) != 0) { fprintf(stderr, "selkie-helper: %s failed\n", newuidmap); ok = 0; }
    if (ok && run_idmap_tool(newgidmap, child, gidspec) != 0) { fprintf(stderr, "selkie-helper: %s failed\n", newgidmap); ok = 0; }
  }
  if (!ok) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 125;
  }

  /* Record the pause process before letting it go, atomically. */
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", pidfile, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) { kill(child, SIGKILL); die("open pidfile"); }
  dprintf(fd, "%d %llu\n", (int)child, starttime(child));
  if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, pidfile) < 0) { kill(child, SIGKILL); die("write pidfile"); }

  c = 'g';
  if (write(go[1], &c, 1) != 1) die("release pause process");
  printf("%d\n", (int)child);
  return 0;
}

/* Field 22 of /proc/PID/stat, or "" when the process is gone or a zombie. */
static void start_time(long pid, char *out, size_t len) {
  char path[64], buf[1024];
  out[0] = '\0';
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return;
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X') return;
  p += 2; /* at field 3 */
  for (int field = 3; field < 22 && p; field++) p = strchr(p, ' '), p = p ? p + 1 : NULL;
  if (!p) return;
  size_t k = strcspn(p, " ");
  if (k >= len) k = len - 1;
  memcpy(out, p, k);
  out[k] = '\0';
}

static int cmd_every(int argc, char **argv) {
  if (argc < 6) fail("usage: selkie-helper every MS PID STARTTIME PROGRAM [ARG...]");
  long ms = strtol(argv[2], NULL, 10);
  long pid = strtol(argv[3], NULL, 10);
  const char *want = argv[4];
  if (ms <= 0 || pid <= 0) fail("every: MS and PID must be positive");
  /* Detached from whoever started us: our own session, no terminal. */
  setsid();
  signal(SIGCHLD, SIG_DFL);
  for (;;) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
    char have[32];
    start_time(pid, have, sizeof have);
    if (strcmp(have, want) != 0) return 0;
    pid_t p = fork();
    if (p < 0) continue;
    if (p == 0) {
      execv(argv[5], argv + 5);
      _exit(127);
    }
    int st;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
  }
}

/* native/forward.c */

int main(int argc, char **argv) {
  if (argc < 2) fail("usage: selkie-helper pause|every|forward ...");
  if (strcmp(argv[1], "pause") == 0) return cmd_pause(argc, argv);
  if (strcmp(argv[1], "every") == 0) return cmd_every(argc, argv);
  if (strcmp(argv[1], "forward") == 0) return cmd_forward(argc, argv);
  fail("unknown mode");
  return 125;
}
