// Bundles src/ into dist/ and puts the launcher at bin/selkie.  Run by
// `npm ci` after node-gyp.
//
// Two bundles, each started from V8's code cache (scripts/boot.cjs):
//  - selkie-main.js: the CLI and everything the frequent commands need;
//  - selkie-extra.js: the modules below and what they import (zod,
//    tar-stream, ...), which only pull, push, load, import, save, commit, cp use.
// The main bundle reaches an extra module through a stub that asks the boot
// loader for the extra bundle on first use.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import Module from 'node:module';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const EXTRA = [
  'cli/commands/registry.ts',
  'engine/pull.ts',
  'engine/push.ts',
  'engine/ingest.ts',
  'engine/commit.ts',
  'engine/cp.ts',
  'engine/volume-archive.ts',
  'image/archive.ts',
  'image/schema.ts',
  'image/digest.ts',
  'storage/layer-apply.ts',
  'runtime/seccomp-file.ts',
  'state/networks.ts',
].map((f) => join(root, 'src', f));

// Minified (whitespace, syntax, identifiers): every start reads the bundle,
// copies it into V8's heap and loads a code cache that grows with it.  The
// linked source maps (dist/*.map) turn a stack trace back into src/ names.
// Esbuild writes here; the finished bundles reach dist/ by rename.
const staging = join(root, 'dist', '.staging');
rmSync(staging, { recursive: true, force: true });
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['*.node'], sourcemap: 'linked', logLevel: 'warning', minifyWhitespace: true, minifySyntax: true, minifyIdentifiers: true };

// The extra bundle: one object, keyed by module path, of the modules'
// exports, each initialised on first access (pull need not load the archive
// reader, nor load the registry client).
await build({
  ...common,
  stdin: {
    contents: EXTRA.map(
      (f) => `Object.defineProperty(exports, ${JSON.stringify(relative(root, f))}, { enumerable: true, get: () => require(${JSON.stringify(f)}) });`,
    ).join('\n'),
    resolveDir: root,
    loader: 'js',
    sourcefile: 'extra-entry.js',
  },
  outfile: join(staging, 'selkie-extra.js'),
});

const toExtra = {
  name: 'to-extra-bundle',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      for (const f of EXTRA) {
        const candidate = join(args.resolveDir, args.path);
        if (candidate === f || `${candidate}.ts` === f) return { path: relative(root, f), namespace: 'extra' };
      }
      return undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'extra' }, (args) => ({
      contents: `module.exports = globalThis.__selkieExtra()[${JSON.stringify(args.path)}];`,
      loader: 'js',
    }));
  },
};

await build({ ...common, entryPoints: [join(root, 'src/cli/main.ts')], outfile: join(staging, 'selkie-main.js'), plugins: [toExtra] });

// Written by rename, never in place: a running selkie maps the bundles (boot.cjs).
function replaceFile(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

// Built-ins loaded on first use (see __lazy in scripts/boot.cjs):
// each require() of one becomes a call of the same length, so that the
// source maps stay right.
const LAZY_BUILTINS = ['child_process', 'net', 'dgram', 'os', 'stream', 'stream/promises', 'readline', 'readline/promises', 'dns', 'http', 'https', 'tls', 'crypto', 'zlib', 'tty', 'worker_threads'];
for (const name of ['selkie-main.js', 'selkie-extra.js']) {
  const file = join(root, 'dist', name);
  const text = readFileSync(join(staging, name), 'utf8').replace(/\brequire\("((?:node:)?([a-z_/]+))"\)/g, (call, id, name) =>
    LAZY_BUILTINS.includes(name) ? `__lazy("${id}")`.padEnd(call.length, ' ') : call,
  );
  // ASCII only: boot.cjs reads the bundles as latin1, ~1.5 ms less per
  // bundle than decoding UTF-8, and V8 keeps one-byte source (smaller and
  // faster to parse than the two-byte string a single non-ASCII character
  // makes of the whole bundle).  Esbuild escapes strings; a regex literal
  // keeps what the source wrote, so write \u escapes there.
  const bad = /[^\x00-\x7f]/.exec(text);
  if (bad) throw new Error(`${name}: non-ASCII character U+${bad[0].codePointAt(0).toString(16)} near ${JSON.stringify(text.slice(Math.max(0, bad.index - 60), bad.index + 20))}`);
  // The bundle is stored inside its CommonJS wrapper, so that boot.cjs can
  // hand V8 the mapped file as it is (Module.wrap would copy it).  The
  // wrapper's first line has no mappings: the source map gains an empty line.
  // Its files were named from the staging directory (the plugin's virtual
  // modules, "extra:...", are names, not paths).
  const map = JSON.parse(readFileSync(join(staging, `${name}.map`), 'utf8'));
  map.mappings = `;${map.mappings}`;
  map.sources = map.sources.map((s) => (/^[a-z]+:/.test(s) ? s : relative(join(root, 'dist'), resolve(staging, s))));
  replaceFile(`${file}.map`, JSON.stringify(map));
  replaceFile(file, Module.wrap(`\n${text}\n`));
}

rmSync(staging, { recursive: true, force: true });

copyFileSync(join(root, 'scripts/boot.cjs'), join(root, 'dist/selkie.js'));
// Warm V8's code caches with a command that loads the modules the frequent
// commands and the registry commands use.
// A new build starts cold: its caches, and those each kind of command wrote (boot.cjs).
for (const f of readdirSync(join(root, 'dist'))) if (f.endsWith('.cache') || f === 'warm.json') rmSync(join(root, 'dist', f), { force: true });
// Made without V8 flags, as bin/selkie starts Node (V8 checks them).
execFileSync(process.execPath, [join(root, 'dist/selkie.js'), '__warm-cache'], {
  env: { ...process.env, SELKIE_WRITE_CODE_CACHE: '1', NODE_EXTRA_CA_CERTS: '' },
  stdio: 'inherit',
});

mkdirSync(join(root, 'bin'), { recursive: true });
const tmp = join(root, 'bin/.selkie.tmp');
copyFileSync(join(root, 'build/Release/selkie-launcher'), tmp);
chmodSync(tmp, 0o755);
renameSync(tmp, join(root, 'bin/selkie'));
