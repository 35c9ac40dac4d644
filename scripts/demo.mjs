// The last step of quickstart.sh: a busybox image, imported and run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeRootfsTar } from './fixtures.mjs';

const selkie = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'selkie');
const dir = mkdtempSync(join(tmpdir(), 'selkie-demo-'));
try {
  const tar = join(dir, 'rootfs.tar');
  await writeRootfsTar(tar);
  const run = (...args) => {
    console.log(`$ selkie ${args.join(' ')}`);
    execFileSync(selkie, args, { stdio: 'inherit' });
  };
  run('import', tar, 'localhost/busybox:latest');
  run('images');
  run('run', '--rm', 'localhost/busybox', 'sh', '-c', 'echo "hello from selkie"; id; cat /proc/self/uid_map');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
