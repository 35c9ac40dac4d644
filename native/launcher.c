/*
 * bin/selkie: the command users run.
 *
 * Node.js is multithreaded, so it can never join a user namespace after it has
 * started.  This launcher runs first, single-threaded: if the user's session
 * namespace (S, held open by the pause process) exists, it joins S's user and
 * mount namespaces and then execs Node with selkie's bundle.  Inside S, Node is
 * root of S and can extract layers, mount and unmount without further helpers,
 * exactly as Podman re-executes itself inside its rootless user namespace.
 *
 * It decides nothing else: when there is no live session it execs Node outside,
 * and the TypeScript side creates S (see src/userns/session.ts) and runs the
 * command again through this launcher.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SELKIE_NODE
#define SELKIE_NODE "node"
#endif

static int read_small(const char *path, char *buf, size_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, len - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = '\0';
  return (int)n;
}

/* Field 22 of /proc/PID/stat: the start time, which tells a live pause process
 * from an unrelated process that reused its PID.  A dead one (a zombie, or
 * exiting: field 3) is no session to join, though its start time still
 * matches until it is reaped. */
static int proc_starttime(long pid, unsigned long long *out) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  if (read_small(path, buf, sizeof buf) < 0) return -1;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  p++;
  if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X' || p[1] == 'x')) return -1;
  for (int field = 3; field < 22; field++) {
    p = strchr(p + 1, ' ');
    if (!p) return -1;
  }
  *out = strtoull(p + 1, NULL, 10);
  return 0;
}

static const char *runroot(char *buf, size_t len) {
  const char *r = getenv("SELKIE_RUNROOT");
  if (r && *r) return r;
  const char *x = getenv("XDG_RUNTIME_DIR");
  if (x && *x) snprintf(buf, len, "%s/selkie", x);
  else snprintf(buf, len, "/tmp/selkie-run-%u", (unsigned)getuid());
  return buf;
}

/* Join S if its pause process is alive and ours; returns its PID or 0. */
static long join_session(void) {
  char rr[PATH_MAX], path[PATH_MAX + 32], buf[128];
  snprintf(path, sizeof path, "%s/pause.pid", runroot(rr, sizeof rr));
  if (read_small(path, buf, sizeof buf) <= 0) return 0;
  char *end;
  long pid = strtol(buf, &end, 10);
  unsigned long long want = strtoull(end, NULL, 10), have;
  if (pid <= 0 || proc_starttime(pid, &have) < 0 || have != want) return 0;

  char nspath[64];
  struct stat mine, theirs;
  snprintf(nspath, sizeof nspath, "/proc/%ld/ns/user", pid);
  if (stat(nspath, &theirs) < 0 || stat("/proc/self/ns/user", &mine) < 0) return 0;
  if (mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev) return pid; /* already inside */

  int userfd = open(nspath, O_RDONLY | O_CLOEXEC);
  snprintf(nspath, sizeof nspath, "/proc/%ld/ns/mnt", pid);
  int mntfd = open(nspath, O_RDONLY | O_CLOEXEC);
  if (userfd < 0 || mntfd < 0) return 0;

  /* setns(CLONE_NEWNS) moves cwd to the namespace's root: keep the caller's. */
  char cwd[PATH_MAX];
  int have_cwd = getcwd(cwd, sizeof cwd) != NULL;
  if (setns(userfd, CLONE_NEWUSER) < 0) {
    fprintf(stderr, "selkie: cannot join the session user namespace of pid %ld: %s\n", pid, strerror(errno));
    exit(125);
  }
  if (setns(mntfd, CLONE_NEWNS) < 0) {
    fprintf(stderr, "selkie: cannot join the session mount namespace of pid %ld: %s\n", pid, strerror(errno));
    exit(125);
  }
  close(userfd);
  close(mntfd);
  if (!have_cwd || chdir(cwd) < 0) {
    if (chdir("/") < 0) { /* nothing more to try */ }
  }
  return pid;
}

int main(int argc, char **argv) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0) { perror("selkie: readlink /proc/self/exe"); return 125; }
  exe[n] = '\0';

  /* The bundle sits at ../dist/selkie.js relative to bin/selkie. */
  char root[PATH_MAX];
  snprintf(root, sizeof root, "%s", exe);
  for (int up = 0; up < 2; up++) {
    char *slash = strrchr(root, '/');
    if (slash) *slash = '\0';
  }
  char bundle[PATH_MAX + 32];
  snprintf(bundle, sizeof bundle, "%s/dist/selkie.js", root); /* the code-cache loader */

  char idbuf[32];
  if (!getenv("SELKIE_HOST_UID")) {
    snprintf(idbuf, sizeof idbuf, "%u", (unsigned)getuid());
    setenv("SELKIE_HOST_UID", idbuf, 1);
    snprintf(idbuf, sizeof idbuf, "%u", (unsigned)getgid());
    setenv("SELKIE_HOST_GID", idbuf, 1);
  }
  setenv("SELKIE_LAUNCHER", exe, 1);

  /* Node parses every certificate in NODE_EXTRA_CA_CERTS at start-up (~60 ms
   * for a system bundle), before any command runs.  Only registry access needs
   * them, so hand the path on for the registry client to load when it does. */
  const char *cas = getenv("NODE_EXTRA_CA_CERTS");
  if (cas && *cas) {
    setenv("SELKIE_EXTRA_CA_CERTS", cas, 1);
    unsetenv("NODE_EXTRA_CA_CERTS");
  }

  unsetenv("SELKIE_SESSION");
  /* Root of S (conmon's exit command runs there) is uid 0 too: it is told
   * from the real root by the host UID a launcher recorded on the way in. */
  const char *host_uid = getenv("SELKIE_HOST_UID");
  if (getuid() != 0 || (host_uid && strcmp(host_uid, "0") != 0) || getenv("SELKIE_SESSION_PID_FORCE")) {
    long pid = join_session();
    if (pid > 0) {
      snprintf(idbuf, sizeof idbuf, "%ld", pid);
      setenv("SELKIE_SESSION", idbuf, 1);
    }
  }

  const char *node = getenv("SELKIE_NODE");
  if (!node || !*node) node = SELKIE_NODE;
  char **args = calloc((size_t)argc + 3, sizeof *args);
  if (!args) return 125;
  int i = 0;
  args[i++] = (char *)node;
  /* No V8 flags: Node's built-ins are compiled from its embedded code cache
   * only under the flags it was made with (see scripts/boot.cjs). */
  args[i++] = bundle;
  for (int a = 1; a < argc; a++) args[i++] = argv[a];
  args[i] = NULL;
  execvp(node, args);
  fprintf(stderr, "selkie: cannot execute %s: %s\n", node, strerror(errno));
  return 125;
}
