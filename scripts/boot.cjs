'use strict';
// dist/selkie.js: starts the bundled CLI from V8's code cache.  Two bundles:
// selkie-main.js (everything `run`, `ps`, ... need) and selkie-extra.js
// (registries, archives, zod, undici, tar-stream), loaded only by commands
// that use them.  Compiling a bundle costs tens of ms at every start; with
// the caches written at build time it costs a few.  A cache from another
// Node or V8 version is rejected by V8 and simply not used.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const scripts = [];

function load(name) {
  const file = path.join(__dirname, name);
  const cacheFile = `${file}.cache`;
  const source = fs.readFileSync(file, 'utf8');
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  scripts.push({ script, cacheFile });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(__dirname);
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, __dirname);
  return mod.exports;
}

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

// Self-warming: the build-time cache holds what loading the bundles
// compiles, not the functions a command runs (they compile lazily, ~20 ms of
// a `run`).  The first time a kind of command succeeds here, its process
// writes the caches again with everything it compiled (V8 keeps what it
// deserialized from the old cache too, so they only grow).  Skipped where
// dist/ is not ours to write (a system install); the marker file lists the
// kinds done, so each costs its ~10 ms once.
globalThis.__selkieWarmCache = (kind) => {
  const marker = path.join(__dirname, 'warm.json');
  let done = {};
  try {
    done = JSON.parse(fs.readFileSync(marker, 'utf8'));
    if (done[kind]) return;
  } catch {
    /* first warm-up */
  }
  try {
    fs.accessSync(__dirname, fs.constants.W_OK);
    for (const { script, cacheFile } of scripts) {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    }
    const tmp = `${marker}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ ...done, [kind]: true }));
    fs.renameSync(tmp, marker);
  } catch {
    /* read-only install, or a race with another writer: nothing lost */
  }
};

load('selkie-main.js');
