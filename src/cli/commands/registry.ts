// pull, push, login, logout, save, manifest inspect: argument handling and
// output around the engine calls.  (Built-ins are imported statically: the
// bundle runs in a vm.Script, where import() of a built-in has no loader.)
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { pipeline } from 'node:stream/promises';
import type { EngineContext } from '../../engine/context';
import { EngineError } from '../../engine/errors';
import type { PullOptions } from '../../engine/pull';
import { trace } from '../../trace';
import { ExitError } from '../errors';
import { isTerminal } from '../terminal';

export interface RegistryFlags {
  tlsVerify?: string | boolean;
  authfile?: string;
  creds?: string;
  platform?: string;
  os?: string;
  arch?: string;
  variant?: string;
  quiet?: boolean;
}

function tlsVerify(v: string | boolean | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  return v === true || v === 'true';
}

async function pullOptions(o: RegistryFlags): Promise<PullOptions> {
  const { parseCreds } = await import('../../engine/pull');
  const { parsePlatform } = await import('../../image/platform');
  const { terminalProgress } = await import('../progress');
  return {
    tlsVerify: tlsVerify(o.tlsVerify),
    authfile: o.authfile,
    creds: o.creds ? parseCreds(o.creds) : undefined,
    platform: o.platform || o.os || o.arch || o.variant ? parsePlatform(o) : undefined,
    progress: o.quiet ? undefined : await terminalProgress(),
    prompt: isTerminal(0) && isTerminal(2) ? promptChoice : undefined,
  };
}

/** Podman's short-name prompt: pick one of the candidates with the arrow keys; here, by number. */
async function promptChoice(name: string, candidates: string[]): Promise<string | undefined> {
  process.stderr.write(`? Please select an image for "${name}":\n`);
  candidates.forEach((c, i) => process.stderr.write(`  ${i + 1}) ${c}\n`));
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question('Enter a number: ')).trim();
    const n = Number(answer);
    return Number.isInteger(n) && n >= 1 && n <= candidates.length ? candidates[n - 1] : undefined;
  } finally {
    rl.close();
  }
}

export async function pull(ctx: EngineContext, refs: string[], o: RegistryFlags & { allTags?: boolean }): Promise<void> {
  const { pullImage } = await import('../../engine/pull');
  trace('pull: modules loaded');
  const opts = await pullOptions(o);
  for (const ref of refs) {
    const rec = await pullImage(ctx, ref, opts);
    process.stdout.write(`${rec.id}\n`);
  }
}

/** run/create --pull: missing (default), always, never, newer. */
export async function ensureImage(ctx: EngineContext, image: string, policy: string | undefined, o: RegistryFlags): Promise<string> {
  const p = policy ?? 'missing';
  if (!['missing', 'always', 'never', 'newer'].includes(p)) {
    throw new EngineError(`invalid pull policy "${p}": must be always, missing, never or newer`);
  }
  const local = ctx.images.lookup(image);
  if (p === 'never' || (p === 'missing' && local)) return image;
  const { pullImage } = await import('../../engine/pull');
  try {
    const rec = await pullImage(ctx, image, { ...(await pullOptions({ ...o, quiet: true })), progress: undefined });
    // by ID when the reference is a transport's (oci:DIR:tag), not a name in the store
    return ctx.images.lookup(image)?.id === rec.id ? image : rec.id;
  } catch (err) {
    // newer: a registry that cannot be reached leaves the local image in use, as Podman does
    if (p === 'newer' && local) return image;
    throw err;
  }
}

export async function push(ctx: EngineContext, [src, dest]: string[], o: RegistryFlags & { digestfile?: string }): Promise<void> {
  const { pushImage } = await import('../../engine/push');
  const { parseCreds } = await import('../../engine/pull');
  const verbose = !o.quiet && isTerminal(2);
  const digest = await pushImage(ctx, src, dest, {
    tlsVerify: tlsVerify(o.tlsVerify),
    authfile: o.authfile,
    creds: o.creds ? parseCreds(o.creds) : undefined,
    log: verbose ? (l) => process.stderr.write(`${l}\n`) : undefined,
  });
  if (o.digestfile) {
    writeFileSync(o.digestfile, digest);
  }
}

async function readPasswordStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function promptLine(question: string, hidden: boolean): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    // Echo nothing while the password is typed.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.startsWith(question)) process.stderr.write(question);
    };
  }
  try {
    return await rl.question(question);
  } finally {
    rl.close();
    if (hidden) process.stderr.write('\n');
  }
}

export async function login(registry: string, o: RegistryFlags & { username?: string; password?: string; passwordStdin?: boolean; getLogin?: boolean }): Promise<void> {
  const { findCredentials, storeCredentials } = await import('../../image/registry/auth-file');
  const key = registry.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (o.getLogin) {
    const c = findCredentials(key.split('/')[0], key.split('/').slice(1).join('/') || undefined, o.authfile);
    if (!c) throw new ExitError(125, `Error: not logged into ${key}`);
    process.stdout.write(`${c.username}\n`);
    return;
  }
  let username = o.username;
  let password = o.password;
  if (o.passwordStdin) {
    if (password !== undefined) throw new ExitError(125, 'Error: --password and --password-stdin are mutually exclusive');
    password = await readPasswordStdin();
  }
  if (username === undefined || password === undefined) {
    if (!process.stdin.isTTY) throw new ExitError(125, 'Error: cannot perform an interactive login from a non TTY device');
    if (username === undefined) username = (await promptLine('Username: ', false)).trim();
    if (password === undefined) password = await promptLine('Password: ', true);
  }
  if (!username) throw new ExitError(125, 'Error: username is required');
  const { isInsecure, loadRegistriesConfig } = await import('../../config/registries');
  const { RegistryClient } = await import('../../image/registry/client');
  const host = key.split('/')[0];
  const client = new RegistryClient({
    registry: host,
    insecure: isInsecure(loadRegistriesConfig(), host),
    tlsVerify: tlsVerify(o.tlsVerify),
    credentials: { username, password },
  });
  try {
    await client.ping();
  } finally {
    await client.close();
  }
  storeCredentials(key, { username, password }, o.authfile);
  process.stdout.write('Login Succeeded!\n');
}

export async function logout(registry: string | undefined, o: { all?: boolean; authfile?: string }): Promise<void> {
  const { removeAllCredentials, removeCredentials } = await import('../../image/registry/auth-file');
  if (o.all) {
    removeAllCredentials(o.authfile);
    process.stdout.write('Removed login credentials for all registries\n');
    return;
  }
  if (!registry) throw new ExitError(125, 'Error: registry must be given');
  const key = registry.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  if (!removeCredentials(key, o.authfile)) throw new ExitError(125, `Error: not logged into ${key}`);
  process.stdout.write(`Removed login credentials for ${key}\n`);
}

export async function save(ctx: EngineContext, refs: string[], o: { output?: string; format?: string; multiImageArchive?: boolean; quiet?: boolean }): Promise<void> {
  const { saveImages } = await import('../../engine/push');
  const format = (o.format ?? 'docker-archive') as 'docker-archive' | 'oci-archive' | 'oci-dir' | 'docker-dir';
  if (!['docker-archive', 'oci-archive', 'oci-dir', 'docker-dir'].includes(format)) {
    throw new ExitError(125, `Error: unknown format option "${o.format}": must be docker-archive, oci-archive, oci-dir or docker-dir`);
  }
  if (o.output) return saveImages(ctx, refs, o.output, format, !!o.multiImageArchive);
  if (process.stdout.isTTY) throw new ExitError(125, 'Error: refusing to save to terminal. Use -o flag or redirect');
  if (format.endsWith('-dir')) throw new ExitError(125, `Error: ${format} needs --output`);
  // To stdout: through a temporary file (archives are written atomically).
  const dir = mkdtempSync(join(ctx.tmpDirReady(), 'save-'));
  try {
    const file = join(dir, 'image.tar');
    await saveImages(ctx, refs, file, format, !!o.multiImageArchive);
    await pipeline(createReadStream(file), process.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function manifestInspect(ref: string, o: RegistryFlags): Promise<void> {
  const { isInsecure, loadRegistriesConfig } = await import('../../config/registries');
  const { parseReference } = await import('../../image/reference');
  const { RegistryClient } = await import('../../image/registry/client');
  const { findCredentials } = await import('../../image/registry/auth-file');
  const { parseCreds } = await import('../../engine/pull');
  const r = parseReference(ref.replace(/^docker:\/\//, ''));
  const client = new RegistryClient({
    registry: r.registry,
    insecure: isInsecure(loadRegistriesConfig(), r.registry),
    tlsVerify: tlsVerify(o.tlsVerify),
    credentials: o.creds ? parseCreds(o.creds) : findCredentials(r.registry, r.repository, o.authfile),
  });
  let m;
  try {
    m = await client.getManifest(r.repository, r.digest ?? r.tag ?? 'latest');
  } finally {
    await client.close();
  }
  process.stdout.write(JSON.stringify(JSON.parse(m.bytes.toString('utf8')), null, 4) + '\n');
}
