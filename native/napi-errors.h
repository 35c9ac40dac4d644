// Errors from the native addon: an Error carrying `code` (the errno name),
// `errno` and `syscall`, like Node's own fs errors.
#pragma once
#include <napi.h>

#include <errno.h>
#include <string.h>

#include <string>

namespace selkie {

inline const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case EWOULDBLOCK: return "EAGAIN";
    case ELOOP: return "ELOOP";
    case EXDEV: return "EXDEV";
    case ENOTSUP: return "ENOTSUP";
    case ENODATA: return "ENODATA";
    case ENOSPC: return "ENOSPC";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case EBADF: return "EBADF";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EROFS: return "EROFS";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENOTTY: return "ENOTTY";
    case EPIPE: return "EPIPE";
    default: return "EUNKNOWN";
  }
}

inline Napi::Value Throw(Napi::Env env, const char *call, const std::string &subject, int e) {
  std::string msg = std::string(errno_name(e)) + ": " + strerror(e) + ", " + call;
  if (!subject.empty()) msg += " '" + subject + "'";
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, errno_name(e)));
  err.Set("errno", Napi::Number::New(env, -e));
  err.Set("syscall", Napi::String::New(env, call));
  if (!subject.empty()) err.Set("path", Napi::String::New(env, subject));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace selkie
