// Bundles src/ into dist/selkie.js (one file: Node starts it fastest) and puts
// the launcher at bin/selkie.  Run by `npm ci` after node-gyp.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outfile: join(root, 'dist/selkie-main.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Loaded from node_modules by the commands that need them (load, import,
  // pull), so that every start does not read and deserialize ~900 KB of them.
  external: ['*.node', 'zod', 'tar-stream', 'undici'],
  sourcemap: 'linked',
  logLevel: 'warning',
});
copyFileSync(join(root, 'scripts/boot.cjs'), join(root, 'dist/selkie.js'));
// Warm V8's code cache with commands that load the modules `run` uses.
rmSync(join(root, 'dist/selkie-main.js.cache'), { force: true });
execFileSync(process.execPath, [join(root, 'dist/selkie.js'), '__warm-cache'], {
  env: { ...process.env, SELKIE_WRITE_CODE_CACHE: '1', NODE_EXTRA_CA_CERTS: '' },
  stdio: 'inherit',
});

mkdirSync(join(root, 'bin'), { recursive: true });
const tmp = join(root, 'bin/.selkie.tmp');
copyFileSync(join(root, 'build/Release/selkie-launcher'), tmp);
chmodSync(tmp, 0o755);
renameSync(tmp, join(root, 'bin/selkie'));
