/*
 * selkie_map.node: mapFile(path, asString), for scripts/boot.cjs only.
 *
 * Every command starts by handing V8 a bundle's source and its code cache.
 * Read into memory, each costs a copy into freshly faulted pages (~3 ms a
 * bundle on a host where a page fault costs ~12 us); mapped from the page
 * cache, V8 reads the cache in a few faults and most of the source is never
 * touched (a function in the cache needs no source until it is printed or
 * compiled again).  The source becomes an external latin1 string (the
 * bundles are ASCII, which the build ensures), the cache an external Buffer;
 * each is unmapped when V8 lets go of it.  The files must not change in
 * place while mapped: the build and the caches' writers replace them by
 * rename.  Kept apart from selkie_native.node (C++, ~2 ms to load), which
 * many commands never load.
 *
 * And quickExit(code): _exit, for src/cli/exit.ts.  Once a command's output
 * is written, Node's own teardown (~10 ms) has nothing left to do; this
 * addon is in every process, the C++ one not.
 */
#define NAPI_EXPERIMENTAL /* node_api_create_external_string_latin1 (Node >= 20.4) */
#define NODE_API_EXPERIMENTAL_NOGC_ENV_OPT_OUT /* finalizers of the plain napi_finalize type */
#define NODE_API_EXPERIMENTAL_BASIC_ENV_OPT_OUT
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

/* An Error like Node's own fs errors: message "CODE: text, open 'path'" and .code. */
static void throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  char msg[4352];
  const char *code = err == ENOENT ? "ENOENT" : err == EACCES ? "EACCES" : err == EISDIR ? "EISDIR" : err == EINVAL ? "EINVAL" : "EIO";
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, strerror(err), syscall, path);
  napi_value m, c, e;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_error(env, c, m, &e);
  napi_set_named_property(env, e, "code", c);
  napi_throw(env, e);
}

static napi_value MapFile(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[4096];
  size_t len = 0;
  bool as_string = false;
  napi_value out = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1 ||
      napi_get_value_bool(env, argv[1], &as_string) != napi_ok) {
    napi_throw_type_error(env, NULL, "mapFile(path: string, asString: boolean)");
    return NULL;
  }
  /* O_NONBLOCK: a FIFO in its place must not hang the open. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    throw_errno(env, errno, "open", path);
    return NULL;
  }
  struct stat st;
  int err = fstat(fd, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : !S_ISREG(st.st_mode) ? EINVAL : 0;
  if (err) {
    close(fd);
    throw_errno(env, err, "fstat", path);
    return NULL;
  }
  size_t size = (size_t)st.st_size;
  if (size == 0) {
    close(fd);
    if (as_string) napi_create_string_latin1(env, "", 0, &out);
    else napi_create_buffer(env, 0, NULL, &out);
    return out;
  }
  void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  err = errno;
  close(fd);
  if (p == MAP_FAILED) {
    throw_errno(env, err, "mmap", path);
    return NULL;
  }
  napi_status s;
  if (as_string) {
    bool copied = false;
    s = node_api_create_external_string_latin1(env, (char *)p, size, unmap, (void *)(uintptr_t)size, &out, &copied);
    if (s == napi_ok && copied) munmap(p, size); /* V8 kept a copy and will not call unmap */
  } else {
    s = napi_create_external_buffer(env, size, p, unmap, (void *)(uintptr_t)size, &out);
  }
  if (s != napi_ok) {
    munmap(p, size);
    napi_throw_error(env, NULL, "mapFile: cannot make a value of the mapping");
    return NULL;
  }
  return out;
}

static napi_value QuickExit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &code) != napi_ok) {
    napi_throw_type_error(env, NULL, "quickExit(code: number)");
    return NULL;
  }
  _exit(code & 0xff);
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "mapFile", NAPI_AUTO_LENGTH, MapFile, NULL, &f);
  napi_set_named_property(env, exports, "mapFile", f);
  napi_create_function(env, "quickExit", NAPI_AUTO_LENGTH, QuickExit, NULL, &f);
  napi_set_named_property(env, exports, "quickExit", f);
  return exports;
}
