// selkie_native: the in-process system calls Node.js lacks.  Each function is a
// thin, synchronous wrapper that throws an Error carrying `code` (the errno
// name) and `errno`, like Node's own fs errors, so TypeScript can branch on it.
#include <napi.h>

#include "napi-errors.h"
#include <seccomp.h>
#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>
#include <thread>

namespace selkie {
void InitFds(Napi::Env env, Napi::Object exports);
}

namespace {

using selkie::Throw;

// flock(fd, exclusive, wait): returns false when wait=false and the lock is held.
Napi::Value Flock(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].As<Napi::Boolean>();
  bool wait = info[2].As<Napi::Boolean>();
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  int rc;
  do rc = flock(fd, op); while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (!wait && errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    return Throw(env, "flock", "", errno);
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value Unlock(const Napi::CallbackInfo &info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (flock(fd, LOCK_UN) < 0) return Throw(info.Env(), "flock", "", errno);
  return info.Env().Undefined();
}

// mount(source, target, fstype, flags, data)
Napi::Value Mount(const Napi::CallbackInfo &info) {
  std::string src = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  std::string target = info[1].As<Napi::String>();
  std::string fstype = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
  unsigned long flags = (unsigned long)info[3].As<Napi::Number>().Int64Value();
  std::string data = info[4].IsString() ? info[4].As<Napi::String>().Utf8Value() : "";
  if (mount(info[0].IsString() ? src.c_str() : nullptr, target.c_str(),
            info[2].IsString() ? fstype.c_str() : nullptr, flags,
            info[4].IsString() ? data.c_str() : nullptr) < 0)
    return Throw(info.Env(), "mount", target, errno);
  return info.Env().Undefined();
}

Napi::Value Umount(const Napi::CallbackInfo &info) {
  std::string target = info[0].As<Napi::String>();
  int flags = info[1].As<Napi::Number>().Int32Value();
  if (umount2(target.c_str(), flags) < 0) return Throw(info.Env(), "umount2", target, errno);
  return info.Env().Undefined();
}

// mknodat(dirfd, path, mode, major, minor): whiteouts (0/0 char devices) and,
// where permitted, device nodes.
Napi::Value Mknodat(const Napi::CallbackInfo &info) {
  int dirfd = info[0].As<Napi::Number>().Int32Value();
  std::string path = info[1].As<Napi::String>();
  mode_t mode = info[2].As<Napi::Number>().Uint32Value();
  unsigned maj = info[3].As<Napi::Number>().Uint32Value();
  unsigned min = info[4].As<Napi::Number>().Uint32Value();
  if (mknodat(dirfd, path.c_str(), mode, makedev(maj, min)) < 0)
    return Throw(info.Env(), "mknodat", path, errno);
  return info.Env().Undefined();
}

// lsetxattr(path, name, value: Buffer, flags)
Napi::Value Lsetxattr(const Napi::CallbackInfo &info) {
  std::string path = info[0].As<Napi::String>();
  std::string name = info[1].As<Napi::String>();
  Napi::Buffer<char> value = info[2].As<Napi::Buffer<char>>();
  int flags = info.Length() > 3 ? info[3].As<Napi::Number>().Int32Value() : 0;
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), flags) < 0)
    return Throw(info.Env(), "lsetxattr", path, errno);
  return info.Env().Undefined();
}

// lgetxattr(path, name) -> Buffer | null when the attribute is absent.
Napi::Value Lgetxattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  std::string name = info[1].As<Napi::String>();
  char buf[65536];
  ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf, sizeof buf);
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) return env.Null();
    return Throw(env, "lgetxattr", path, errno);
  }
  return Napi::Buffer<char>::Copy(env, buf, (size_t)n);
}

// openat2(dirfd, path, flags, mode, resolve) -> fd.  With RESOLVE_IN_ROOT every
// component, symlinks and ".." included, stays below dirfd.
Napi::Value Openat2(const Napi::CallbackInfo &info) {
  int dirfd = info[0].As<Napi::Number>().Int32Value();
  std::string path = info[1].As<Napi::String>();
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned long long)info[2].As<Napi::Number>().Int64Value() | O_CLOEXEC;
  how.mode = info[3].As<Napi::Number>().Uint32Value();
  how.resolve = (unsigned long long)info[4].As<Napi::Number>().Int64Value();
  long fd;
  // quiet: a name that is not there (ENOENT, ENOTDIR, ELOOP) gives -errno,
  // not an exception: a PATH search misses several times per exec (each
  // exception a JS Error with its stack).
  bool quiet = info.Length() > 5 && info[5].ToBoolean();
  do fd = syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how); while (fd < 0 && errno == EAGAIN);
  if (fd < 0 && quiet && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) return Napi::Number::New(info.Env(), -errno);
  if (fd < 0) return Throw(info.Env(), "openat2", path, errno);
  return Napi::Number::New(info.Env(), (double)fd);
}

// mkdirat(dirfd, name, mode): name must be a single component (callers walk).
Napi::Value Mkdirat(const Napi::CallbackInfo &info) {
  int dirfd = info[0].As<Napi::Number>().Int32Value();
  std::string path = info[1].As<Napi::String>();
  mode_t mode = info[2].As<Napi::Number>().Uint32Value();
  if (mkdirat(dirfd, path.c_str(), mode) < 0) return Throw(info.Env(), "mkdirat", path, errno);
  return info.Env().Undefined();
}

// seccompCompile(defaultAction, arches, rules) -> Buffer of BPF instructions.
// rules: [name, action, [[index, op, value: bigint, valueTwo: bigint], ...], split]
// with actions and comparison operators as libseccomp's numbers (decided in
// TypeScript, src/runtime/seccomp-bpf.ts).  Compiling once and handing crun the
// program (run.oci.seccomp_bpf_data) saves libseccomp's work on every start.
Napi::Value SeccompCompile(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t def = info[0].As<Napi::Number>().Uint32Value();
  Napi::Array arches = info[1].As<Napi::Array>();
  Napi::Array rules = info[2].As<Napi::Array>();
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) return Throw(env, "seccomp_init", "", EINVAL);
  struct Guard { scmp_filter_ctx c; ~Guard() { seccomp_release(c); } } guard{ctx};
  // crun sets no_new_privs itself; the filter must not.
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (uint32_t i = 0; i < arches.Length(); i++) {
    std::string name = arches.Get(i).As<Napi::String>();
    uint32_t arch = seccomp_arch_resolve_name(name.c_str());
    if (arch == 0) return Throw(env, "seccomp_arch_resolve_name", name, EINVAL);
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) return Throw(env, "seccomp_arch_add", name, -rc);
  }
  for (uint32_t i = 0; i < rules.Length(); i++) {
    Napi::Array rule = rules.Get(i).As<Napi::Array>();
    std::string name = rule.Get(0u).As<Napi::String>();
    uint32_t action = rule.Get(1u).As<Napi::Number>().Uint32Value();
    Napi::Array args = rule.Get(2u).As<Napi::Array>();
    bool split = rule.Get(3u).As<Napi::Boolean>();
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp: as crun does
    std::vector<scmp_arg_cmp> cmps;
    for (uint32_t a = 0; a < args.Length(); a++) {
      Napi::Array arg = args.Get(a).As<Napi::Array>();
      bool lossless;
      scmp_arg_cmp c;
      c.arg = arg.Get(0u).As<Napi::Number>().Uint32Value();
      c.op = (scmp_compare)arg.Get(1u).As<Napi::Number>().Uint32Value();
      c.datum_a = arg.Get(2u).As<Napi::BigInt>().Uint64Value(&lossless);
      c.datum_b = arg.Get(3u).As<Napi::BigInt>().Uint64Value(&lossless);
      cmps.push_back(c);
    }
    int rc;
    if (split && cmps.size() > 1) {
      // Several conditions on one argument: each is a rule of its own (OR).
      for (auto &c : cmps) {
        rc = seccomp_rule_add_array(ctx, action, nr, 1, &c);
        if (rc < 0 && rc != -EACCES) return Throw(env, "seccomp_rule_add", name, -rc);
      }
      continue;
    }
    rc = seccomp_rule_add_array(ctx, action, nr, (unsigned)cmps.size(), cmps.empty() ? nullptr : cmps.data());
    // -EACCES: the rule's action is the default one; nothing to add.
    if (rc < 0 && rc != -EACCES) return Throw(env, "seccomp_rule_add", name, -rc);
  }
  int fd = memfd_create("selkie-seccomp", MFD_CLOEXEC);
  if (fd < 0) return Throw(env, "memfd_create", "", errno);
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) {
    close(fd);
    return Throw(env, "seccomp_export_bpf", "", -rc);
  }
  off_t size = lseek(fd, 0, SEEK_END);
  std::string out((size_t)size, '\0');
  ssize_t n = pread(fd, &out[0], (size_t)size, 0);
  close(fd);
  if (n != size) return Throw(env, "pread", "", EIO);
  return Napi::Buffer<char>::Copy(env, out.data(), out.size());
}

/* FNV-1a, 64 bits, of a buffer, as 16 hex digits: a cache file's name (the
 * entry itself is compared in full), where a loop in JS would run in V8's
 * interpreter at start-up. */
Napi::Value Fnv64(const Napi::CallbackInfo &info) {
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  const uint8_t *p = buf.Data();
  for (size_t i = 0; i < buf.Length(); i++) {
    h ^= p[i];
    h *= UINT64_C(0x100000001b3);
  }
  char out[17];
  snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return Napi::String::New(info.Env(), out);
}

/* SHA-256 of a buffer, as 64 hex digits, by the OpenSSL that Node carries
 * (its symbols are the node binary's): a command that hashes a manifest and
 * nothing else does not load node:crypto for it (~5 ms). */
Napi::Value Sha256Hex(const Napi::CallbackInfo &info) {
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(buf.Data(), buf.Length(), md, &len, EVP_sha256(), nullptr) != 1 || len != 32) {
    Napi::Error::New(info.Env(), "sha256: OpenSSL failed").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  static const char hex[] = "0123456789abcdef";
  char out[65];
  for (unsigned int i = 0; i < len; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[64] = 0;
  return Napi::String::New(info.Env(), out, 64);
}

/* netnsSysctl(netns, path, value): writes a /proc/sys/net file as seen in
 * the network namespace at `netns` (a bind-mounted nsfs file).  A thread of
 * its own enters the namespace and ends there: this process may not return
 * to the host's network namespace once it left it.  For the namespaces
 * selkie makes in the session: their owner is the session's user namespace,
 * so crun, inside the container's, may not write their sysctls itself. */
Napi::Value NetnsSysctl(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string netns = info[0].As<Napi::String>();
  std::string path = info[1].As<Napi::String>();
  std::string value = info[2].As<Napi::String>();
  if (path.rfind("/proc/sys/net/", 0) != 0 || path.find("..") != std::string::npos) return Throw(env, "sysctl", path, EINVAL);
  int err = 0;
  const char *call = "open";
  const std::string *subject = &netns;
  std::thread worker([&] {
    int target = open(netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      err = errno;
      return;
    }
    int rc = setns(target, CLONE_NEWNET);
    int e = errno;
    close(target);
    if (rc < 0) {
      err = e;
      call = "setns";
      return;
    }
    subject = &path;
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      err = errno;
      return;
    }
    if (write(fd, value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
      err = errno ? errno : EIO;
      call = "write";
    }
    close(fd);
  });
  worker.join();
  if (err) return Throw(env, call, *subject, err);
  return env.Undefined();
}

/* The wall clock to the nanosecond, without loading Node's perf_hooks for it. */
Napi::Value RealtimeNs(const Napi::CallbackInfo &info) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(ts.tv_sec) * UINT64_C(1000000000) + static_cast<uint64_t>(ts.tv_nsec));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("realtimeNs", Napi::Function::New(env, RealtimeNs));
  exports.Set("fnv64", Napi::Function::New(env, Fnv64));
  exports.Set("sha256Hex", Napi::Function::New(env, Sha256Hex));
  exports.Set("netnsSysctl", Napi::Function::New(env, NetnsSysctl));
  exports.Set("seccompCompile", Napi::Function::New(env, SeccompCompile));
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("unlock", Napi::Function::New(env, Unlock));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount", Napi::Function::New(env, Umount));
  exports.Set("mknodat", Napi::Function::New(env, Mknodat));
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr));
  exports.Set("openat2", Napi::Function::New(env, Openat2));
  exports.Set("mkdirat", Napi::Function::New(env, Mkdirat));
  selkie::InitFds(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(selkie_native, Init)
