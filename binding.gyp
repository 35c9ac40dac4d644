{
  "targets": [
    {
      "target_name": "selkie_native",
      "sources": ["native/addon.cc", "native/fds.cc"],
      "libraries": ["-lseccomp"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "cflags_cc": ["-Wall", "-Wextra", "-O2", "-std=c++17"]
    },
    {
      "target_name": "selkie_map",
      "sources": ["native/map-file.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "selkie-helper",
      "type": "executable",
      "sources": ["native/helper.c", "native/forward.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-D_FORTIFY_SOURCE=2"]
    },
    {
      "target_name": "selkie-launcher",
      "type": "executable",
      "sources": ["native/launcher.c"],
      "defines": ["SELKIE_NODE=\"<!(node -p process.execPath)\""],
      "cflags": ["-Wall", "-Wextra", "-O2", "-D_FORTIFY_SOURCE=2"]
    }
  ]
}
