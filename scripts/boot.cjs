'use strict';
// dist/selkie.js: starts the bundled CLI (dist/selkie-main.js) from V8's code
// cache.  Compiling the bundle costs about 40 ms at every start; with the
// cache written at build time it costs a few.  A cache from another Node or
// V8 version is rejected by V8 and simply not used.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const file = path.join(__dirname, 'selkie-main.js');
const cacheFile = `${file}.cache`;
const source = fs.readFileSync(file, 'utf8');
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
const mod = new Module(file, module);
mod.filename = file;
mod.paths = Module._nodeModulePaths(__dirname);
const wrapper = script.runInThisContext();
wrapper.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, __dirname);

if (process.env.SELKIE_WRITE_CODE_CACHE === '1') {
  // Build time: after the command ran, so the functions it compiled are in.
  process.on('exit', () => {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile);
  });
}
