// Bundles src/ into dist/selkie.js (one file: Node starts it fastest) and puts
// the launcher at bin/selkie.  Run by `npm ci` after node-gyp.
import { build } from 'esbuild';
import { copyFileSync, chmodSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outfile: join(root, 'dist/selkie.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['*.node'],
  sourcemap: 'linked',
  logLevel: 'warning',
});
mkdirSync(join(root, 'bin'), { recursive: true });
const tmp = join(root, 'bin/.selkie.tmp');
copyFileSync(join(root, 'build/Release/selkie-launcher'), tmp);
chmodSync(tmp, 0o755);
renameSync(tmp, join(root, 'bin/selkie'));
