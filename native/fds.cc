// Terminals and the Unix sockets around them, for what Node's net module
// cannot do: receive a file descriptor (SCM_RIGHTS, crun's --console-socket),
// speak SOCK_SEQPACKET (conmon's attach socket) and size a terminal; and
// handing this process over to crun (memfd + execve) for `selkie exec`.
#include <napi.h>



#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "napi-errors.h"

namespace selkie {
namespace {

bool FillAddress(const std::string &path, sockaddr_un *addr) {
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr->sun_path)) return false;
  memcpy(addr->sun_path, path.c_str(), path.size());
  return true;
}

// unixListen(path): a listening SOCK_STREAM socket bound at path (close-on-exec).
Napi::Value UnixListen(const Napi::CallbackInfo &info) {
  std::string path = info[0].As<Napi::String>();
  sockaddr_un addr;
  if (!FillAddress(path, &addr)) return Throw(info.Env(), "bind", path, ENAMETOOLONG);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Throw(info.Env(), "socket", path, errno);
  if (bind(fd, (sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 1) < 0) {
    int e = errno;
    close(fd);
    return Throw(info.Env(), "bind", path, e);
  }
  return Napi::Number::New(info.Env(), fd);
}

// recvFd(listenFd, timeoutMs): accepts one connection and returns the file
// descriptor it sends (SCM_RIGHTS).  Times out with ETIMEDOUT, so a runtime
// that failed before connecting cannot hang us.
Napi::Value RecvFd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int lfd = info[0].As<Napi::Number>().Int32Value();
  int timeout = info[1].As<Napi::Number>().Int32Value();
  pollfd p = {lfd, POLLIN, 0};
  int rc;
  do rc = poll(&p, 1, timeout); while (rc < 0 && errno == EINTR);
  if (rc < 0) return Throw(env, "poll", "", errno);
  if (rc == 0) return Throw(env, "accept", "", ETIMEDOUT);
  int conn = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  if (conn < 0) return Throw(env, "accept", "", errno);
  char byte;
  iovec iov = {&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  int e = errno;
  close(conn);
  if (n < 0) return Throw(env, "recvmsg", "", e);
  cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return Throw(env, "recvmsg", "", EBADF);
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(fd));
  return Napi::Number::New(env, fd);
}

// seqpacketConnect(path): a connected SOCK_SEQPACKET socket (conmon's attach
// socket keeps message boundaries: one byte of stream type, then data).
Napi::Value SeqpacketConnect(const Napi::CallbackInfo &info) {
  std::string path = info[0].As<Napi::String>();
  sockaddr_un addr;
  if (!FillAddress(path, &addr)) return Throw(info.Env(), "connect", path, ENAMETOOLONG);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return Throw(info.Env(), "socket", path, errno);
  if (connect(fd, (sockaddr *)&addr, sizeof(addr)) < 0) {
    int e = errno;
    close(fd);
    return Throw(info.Env(), "connect", path, e);
  }
  return Napi::Number::New(info.Env(), fd);
}

// shutdownWrite(fd): tells the peer no more input comes (stdin closed).
Napi::Value ShutdownWrite(const Napi::CallbackInfo &info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (shutdown(fd, SHUT_WR) < 0) return Throw(info.Env(), "shutdown", "", errno);
  return info.Env().Undefined();
}

// setWinsize(fd, rows, cols): TIOCSWINSZ on a terminal (a pty master).
Napi::Value SetWinsize(const Napi::CallbackInfo &info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  winsize ws = {};
  ws.ws_row = (unsigned short)info[1].As<Napi::Number>().Uint32Value();
  ws.ws_col = (unsigned short)info[2].As<Napi::Number>().Uint32Value();
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) return Throw(info.Env(), "ioctl", "TIOCSWINSZ", errno);
  return info.Env().Undefined();
}

// memfdWithContent(name, buffer): an anonymous in-memory file holding buffer,
// inherited across exec, positioned at 0 (handed to crun as /proc/self/fd/N).
Napi::Value MemfdWithContent(const Napi::CallbackInfo &info) {
  std::string name = info[0].As<Napi::String>();
  Napi::Buffer<char> buf = info[1].As<Napi::Buffer<char>>();
  int fd = (int)syscall(SYS_memfd_create, name.c_str(), 0);
  if (fd < 0) return Throw(info.Env(), "memfd_create", name, errno);
  size_t off = 0;
  while (off < buf.Length()) {
    ssize_t n = write(fd, buf.Data() + off, buf.Length() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      return Throw(info.Env(), "write", name, e);
    }
    off += (size_t)n;
  }
  lseek(fd, 0, SEEK_SET);
  return Napi::Number::New(info.Env(), fd);
}

// execve(path, argv, env): replaces this process (selkie exec hands itself
// over to `crun exec`: no fork, and signals and the exit status are crun's).
// Returns only on failure.
Napi::Value Execve(const Napi::CallbackInfo &info) {
  std::string path = info[0].As<Napi::String>();
  Napi::Array a = info[1].As<Napi::Array>();
  Napi::Array e = info[2].As<Napi::Array>();
  std::vector<std::string> args, envs;
  for (uint32_t i = 0; i < a.Length(); i++) args.push_back(a.Get(i).As<Napi::String>());
  for (uint32_t i = 0; i < e.Length(); i++) envs.push_back(e.Get(i).As<Napi::String>());
  std::vector<char *> argv, envp;
  for (auto &s : args) argv.push_back(&s[0]);
  argv.push_back(nullptr);
  for (auto &s : envs) envp.push_back(&s[0]);
  envp.push_back(nullptr);
  // Node leaves signals it handles blocked or redirected: the new program
  // starts with an empty mask and default dispositions (execve keeps the mask).
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    signal(sig, SIG_DFL);
  }
  // libuv marks the descriptors it adopts close-on-exec, stdio included:
  // the new program must get ours.
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && (flags & FD_CLOEXEC)) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  execve(path.c_str(), argv.data(), envp.data());
  return Throw(info.Env(), "execve", path, errno);
}

// spawnProcess(path, argv, [stdin, stdout, stderr], newSession): starts a
// program with posix_spawn (vfork semantics: no copy of this large process's
// page tables, a few ms less than child_process on every `run`).  Returns
// [pid, exitFd]: exitFd reads end-of-file once the program has exited (it
// holds the only other end of the pipe), then waitProcess(pid) collects it.
Napi::Value SpawnProcess(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  Napi::Array a = info[1].As<Napi::Array>();
  Napi::Array stdio = info[2].As<Napi::Array>();
  bool newSession = info[3].As<Napi::Boolean>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < a.Length(); i++) args.push_back(a.Get(i).As<Napi::String>());
  std::vector<char *> argv;
  for (auto &x : args) argv.push_back(&x[0]);
  argv.push_back(nullptr);

  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) return Throw(env, "pipe2", "", errno);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  for (uint32_t i = 0; i < 3; i++) {
    int fd = stdio.Get(i).As<Napi::Number>().Int32Value();
    posix_spawn_file_actions_adddup2(&fa, fd, (int)i);
  }
  // The write end survives in the child as fd 3 (dup2 clears close-on-exec).
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 3);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (newSession) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);
  pid_t pid;
  int rc = posix_spawn(&pid, path.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(pipefd[1]);
  if (rc != 0) {
    close(pipefd[0]);
    return Throw(env, "posix_spawn", path, rc);
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set((uint32_t)0, Napi::Number::New(env, pid));
  out.Set((uint32_t)1, Napi::Number::New(env, pipefd[0]));
  return out;
}

// waitProcess(pid): waits for a child started by spawnProcess; returns its
// exit code, or 128 + the signal that ended it.
Napi::Value WaitProcess(const Napi::CallbackInfo &info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int st;
  pid_t r;
  do r = waitpid(pid, &st, 0); while (r < 0 && errno == EINTR);
  if (r < 0) return Throw(info.Env(), "waitpid", "", errno);
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return Napi::Number::New(info.Env(), code);
}

/* waitpid in libuv's thread pool, resolving a promise with the exit code
 * (128 + signal when killed): for a child whose end is awaited while this
 * process does other work (fuse-overlayfs mounting while the spec is built). */
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, pid_t pid) : Napi::AsyncWorker(env), pid_(pid), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    int st;
    pid_t r;
    do r = waitpid(pid_, &st, 0); while (r < 0 && errno == EINTR);
    if (r < 0) {
      errno_ = errno;
      return;
    }
    code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (errno_) {
      Napi::Error e = Napi::Error::New(env, std::string(errno_name(errno_)) + ": " + strerror(errno_) + ", waitpid");
      e.Set("code", Napi::String::New(env, errno_name(errno_)));
      deferred_.Reject(e.Value());
    } else {
      deferred_.Resolve(Napi::Number::New(env, code_));
    }
  }

 private:
  pid_t pid_;
  int code_ = 0;
  int errno_ = 0;
  Napi::Promise::Deferred deferred_;
};

Napi::Value WaitProcessAsync(const Napi::CallbackInfo &info) {
  auto *w = new WaitWorker(info.Env(), info[0].As<Napi::Number>().Int32Value());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitFds(Napi::Env env, Napi::Object exports) {
  exports.Set("unixListen", Napi::Function::New(env, UnixListen));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd));
  exports.Set("seqpacketConnect", Napi::Function::New(env, SeqpacketConnect));
  exports.Set("shutdownWrite", Napi::Function::New(env, ShutdownWrite));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize));
  exports.Set("memfdWithContent", Napi::Function::New(env, MemfdWithContent));
  exports.Set("execve", Napi::Function::New(env, Execve));
  exports.Set("spawnProcess", Napi::Function::New(env, SpawnProcess));
  exports.Set("waitProcess", Napi::Function::New(env, WaitProcess));
  exports.Set("waitProcessAsync", Napi::Function::New(env, WaitProcessAsync));
}

}  // namespace selkie
