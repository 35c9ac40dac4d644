/* Pieces shared by the helper's commands (native/helper.c, native/forward.c). */
#ifndef SELKIE_HELPER_H
#define SELKIE_HELPER_H

#include <fcntl.h>
#include <unistd.h>

/* A daemon keeps nothing of its starter's: stdio becomes /dev/null, cwd /. */
static inline void detach_stdio(void) {
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    if (devnull > 2) close(devnull);
  }
  if (chdir("/") < 0) { /* harmless */ }
}

int cmd_forward(int argc, char **argv);

#endif
