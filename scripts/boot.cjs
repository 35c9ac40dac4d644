'use strict';
// dist/selkie.js: starts the bundled CLI from V8's code cache.  Two bundles:
// selkie-main.js (everything `run`, `ps`, ... need) and selkie-extra.js
// (registries, archives, zod, tar-stream), loaded only by commands
// that use them.  Compiling a bundle costs tens of ms at every start; with
// the caches written at build time it costs a few.  A cache from another
// Node or V8 version is rejected by V8 and simply not used.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

// bin/selkie starts Node with no V8 flags.  V8 accepts a code cache only
// under the flags it was made with, and that holds for the cache of Node's
// own built-ins compiled into the binary too: under any flag, each built-in
// a command loads (the streams, http, child_process) is compiled from source
// (require('node:http') 16-21 ms instead of 4-6).  Node flags given anyway
// (--cpu-prof, ...) mean: write no cache, and leave by process.exit
// (src/cli/exit.ts).
globalThis.__selkieOtherNodeFlags = process.execArgv.length > 0;

const scripts = [];

// Group words whose next word names the command (`container cleanup`).
const GROUPS = new Set(['container', 'image', 'manifest', 'volume', 'network', 'system', 'healthcheck', 'pod', 'generate']);

/**
 * The kind of command this process runs, from its arguments: each kind gets
 * caches of its own (warmed by its first success, below), holding what it
 * compiles and no more, since a cache costs its size to load at every start.
 */
function commandKind(argv) {
  const words = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i];
    if (words.length === 0 && (a === '--root' || a === '--runroot')) {
      i++;
      continue;
    }
    if (a.startsWith('-')) {
      if (words.length === 0) continue;
      break;
    }
    words.push(a);
    if (!GROUPS.has(words[0])) break;
  }
  let kind = words.join('-');
  if (words[0] === 'run') {
    // run's paths differ: foreground --rm (crun alone), detached, attached, terminal.
    const has = (...f) => argv.some((a) => f.includes(a) || (/^-[a-zA-Z]+$/.test(a) && f.some((x) => x.length === 2 && a.includes(x[1]))));
    kind += has('-d', '--detach') ? '.d' : has('--rm') ? '.rm' : '';
    if (has('-t', '--tty')) kind += '.t';
  }
  return /^[a-z][a-z0-9.-]{0,40}$/.test(kind) ? kind : undefined;
}
const KIND = commandKind(process.argv.slice(2));
trace('start');

// SELKIE_TRACE=1: as src/trace.ts, for the loading of the bundles.
// (writeSync: making process.stderr would load the streams.)
function trace(label) {
  if (process.env.SELKIE_TRACE) fs.writeSync(2, `[trace] ${(process.uptime() * 1000).toFixed(1).padStart(7)} ms  boot: ${label}\n`);
}

// The bundles and their caches are mapped, not read (native/map-file.c):
// copying them into fresh memory costs ~3 ms a bundle where page faults are
// dear.  Without the small addon (not built, or a Node without external
// latin1 strings) they are read.
// (process.dlopen: require() of a .node file costs ~1.5 ms more, resolving it.)
let mapFile;
try {
  const addon = { exports: {} };
  process.dlopen(addon, path.join(__dirname, '..', 'build', 'Release', 'selkie_map.node'));
  mapFile = addon.exports.mapFile;
  // _exit, for the exit path (src/cli/exit.ts).
  globalThis.__selkieQuickExit = addon.exports.quickExit;
} catch {
  mapFile = undefined;
}
const readSource = (file) => (mapFile ? mapFile(file, true) : fs.readFileSync(file, 'latin1')); // ASCII, as the build ensures
const readCache = (file) => (mapFile ? mapFile(file, false) : fs.readFileSync(file));

function load(name) {
  const file = path.join(__dirname, name);
  const buildCache = `${file}.cache`;
  const kindCache = KIND ? `${file}.${KIND}.cache` : undefined;
  // Stored inside its CommonJS wrapper (scripts/build.mjs).
  const source = readSource(file);
  let cachedData;
  let fromKind = false;
  for (const f of kindCache ? [kindCache, buildCache] : [buildCache]) {
    try {
      cachedData = readCache(f);
      fromKind = f === kindCache;
      break;
    } catch {
      cachedData = undefined;
    }
  }
  const script = new vm.Script(source, { filename: file, cachedData });
  scripts.push({ script, cacheFile: buildCache, kindCache, warm: fromKind && !script.cachedDataRejected });
  trace(`${name} compiled (${cachedData ? (script.cachedDataRejected ? 'cache rejected' : fromKind ? 'kind cache' : 'build cache') : 'no cache'}${mapFile ? ', mapped' : ''})`);
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(__dirname);
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, __dirname);
  trace(`${name} evaluated`);
  return mod.exports;
}

// Built-ins that `run` and most commands never use cost milliseconds to
// load (child_process alone pulls in net, dgram and the streams).  The build
// turns the bundles' require() of them into __lazy(): a stand-in that loads
// the module on first use of any of its properties (scripts/build.mjs).
function lazyBuiltin(id) {
  let mod;
  const get = () => (mod ??= require(id));
  return new Proxy(
    {},
    {
      get: (_, key) => get()[key],
      has: (_, key) => key in get(),
      ownKeys: () => Reflect.ownKeys(get()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Reflect.getOwnPropertyDescriptor(get(), key);
        return d && { ...d, configurable: true };
      },
    },
  );
}
globalThis.__lazy = lazyBuiltin;

// process.stdout and process.stderr are made on first use, and a pipe's
// loads net and the streams.  Whether one was made tells the exit path
// whether any output may still be queued (src/cli/main.ts).
const stdioMade = { stdout: false, stderr: false };
for (const name of ['stdout', 'stderr']) {
  const d = Object.getOwnPropertyDescriptor(process, name);
  if (!d || !d.get || !d.configurable) {
    stdioMade[name] = true;
    continue;
  }
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: d.enumerable,
    get() {
      stdioMade[name] = true;
      return d.get.call(this);
    },
  });
}
globalThis.__selkieStdioMade = stdioMade;

let extra;
// The main bundle reaches the extra one through this (see scripts/build.mjs).
globalThis.__selkieExtra = () => (extra ??= load('selkie-extra.js'));

if (process.env.SELKIE_WRITE_CODE_CACHE === '1') {
  // Build time: after the command ran, so the functions it compiled are in.
  process.on('exit', () => {
    for (const { script, cacheFile } of scripts) {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    }
  });
}

// Self-warming: the build-time caches hold what loading the bundles
// compiles, not the functions a command runs (they compile lazily, ~20 ms of
// a `run`).  The first success of each kind of command writes caches of its
// own with everything that process compiled.  Skipped where dist/ is not
// ours to write (a system install).  V8 drops the bytecode of functions not
// run across several full collections, which a long-lived process (an
// attached `run`, `logs -f`, the API service) goes through, and a cache made
// then would lack the start-up code every later start needs: only a process
// younger than WARM_MAX_UPTIME writes one (a 100 MB pull, ~1 s, does).
const WARM_MAX_UPTIME = 5;
globalThis.__selkieWarmCache = () => {
  // Already started from this kind's caches: nothing to write (no syscalls on `run`).
  // Not under flags such as --cpu-prof: V8 rejects a cache made under other flags.
  if (!KIND || globalThis.__selkieOtherNodeFlags || scripts.every((x) => x.warm)) return;
  if (process.uptime() > WARM_MAX_UPTIME) return;
  try {
    fs.accessSync(__dirname, fs.constants.W_OK);
    for (const { script, kindCache, warm } of scripts) {
      if (warm) continue;
      const tmp = `${kindCache}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, kindCache);
    }
  } catch {
    /* read-only install, or a race with another writer: nothing lost */
  }
};

// Run as dist/selkie.js; required by the unit tests for its pieces.
if (require.main === module) load('selkie-main.js');
else module.exports = { commandKind, lazyBuiltin };
