import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BlockedRegistryError,
  RegistriesConfigError,
  findRegistry,
  isInsecure,
  loadRegistriesConfig,
  pullSources,
  recordAlias,
  resolveShortName,
  shortNameAliasesPath,
  unpromptedCandidates,
  type RegistriesConfig,
} from '../../src/config/registries';
import { parseReference } from '../../src/image/reference';

const DIGEST = `sha256:${'b'.repeat(64)}`;

let root: string;
let home: string;
let etc: string;
let env: NodeJS.ProcessEnv;

function write(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}
const userConf = () => join(home, '.config', 'containers', 'registries.conf');
const userDir = () => join(home, '.config', 'containers', 'registries.conf.d');
const load = () => loadRegistriesConfig({ env, home, etcDir: etc });
const fromToml = (text: string): RegistriesConfig => {
  write(join(etc, 'registries.conf'), text);
  return load();
};
const sources = (cfg: RegistriesConfig, name: string) =>
  pullSources(cfg, parseReference(name)).map((s) => `${s.reference}${s.insecure ? ' (insecure)' : ''}${s.mirror ? ' [mirror]' : ''}`);

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'selkie-registries-'));
  home = join(root, 'home');
  etc = join(root, 'etc');
  mkdirSync(home, { recursive: true });
  env = { HOME: home };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('loading', () => {
  it('defaults with no file at all', () => {
    const cfg = load();
    expect(cfg.unqualifiedSearchRegistries).toEqual([]);
    expect(cfg.shortNameMode).toBe('enforcing');
    expect(cfg.registries).toEqual([]);
    expect(cfg.aliases).toEqual({});
  });

  it('reads the system file, tolerating unknown keys', () => {
    const cfg = fromToml(`
unqualified-search-registries = ["registry.fedoraproject.org", "docker.io/"]
short-name-mode = "permissive"
credential-helpers = ["containers-auth.json"]
[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"library/alpine" = "docker.io/alpine"
`);
    expect(cfg.unqualifiedSearchRegistries).toEqual(['registry.fedoraproject.org', 'docker.io']);
    expect(cfg.shortNameMode).toBe('permissive');
    expect(cfg.aliases).toEqual({
      fedora: 'registry.fedoraproject.org/fedora',
      'library/alpine': 'docker.io/library/alpine',
    });
  });

  it('an existing file that leaves short-name-mode unset means permissive (Podman default)', () => {
    expect(fromToml('unqualified-search-registries = ["quay.io"]\n').shortNameMode).toBe('permissive');
  });

  it('prefers the user file, and then ignores the system drop-ins', () => {
    write(join(etc, 'registries.conf'), 'unqualified-search-registries = ["system.example"]\n');
    write(join(etc, 'registries.conf.d', '000-shortnames.conf'), '[aliases]\n"sys" = "quay.io/sys/sys"\n');
    write(userConf(), 'unqualified-search-registries = ["user.example"]\n');
    write(join(userDir(), 'a.conf'), '[aliases]\n"mine" = "quay.io/me/mine"\n');
    const cfg = load();
    expect(cfg.unqualifiedSearchRegistries).toEqual(['user.example']);
    expect(cfg.aliases).toEqual({ mine: 'quay.io/me/mine' });
    expect(cfg.sources).toEqual([userConf(), join(userDir(), 'a.conf')]);
  });

  it('honours XDG_CONFIG_HOME for the user files', () => {
    const xdg = join(root, 'xdg');
    env.XDG_CONFIG_HOME = xdg;
    write(join(xdg, 'containers', 'registries.conf'), 'unqualified-search-registries = ["xdg.example"]\n');
    expect(load().unqualifiedSearchRegistries).toEqual(['xdg.example']);
  });

  it('applies system then user drop-ins in lexical order, later ones overriding', () => {
    write(
      join(etc, 'registries.conf'),
      `unqualified-search-registries = ["a.example"]
short-name-mode = "enforcing"
[aliases]
"one" = "a.example/one"
"two" = "a.example/two"
"gone" = "a.example/gone"
[[registry]]
prefix = "a.example"
location = "a.example"
insecure = true
[[registry]]
location = "keep.example"
`,
    );
    const sys = join(etc, 'registries.conf.d');
    write(join(sys, '000-shortnames.conf'), '[aliases]\n"alpine" = "docker.io/library/alpine"\n"two" = "b.example/two"\n');
    write(
      join(sys, '10-b.conf'),
      `unqualified-search-registries = ["b.example", "c.example"]
[[registry]]
prefix = "a.example"
location = "mirror.a.example"
`,
    );
    write(join(sys, '20-c.conf'), '[aliases]\n"gone" = ""\n');
    write(join(sys, 'ignored.txt'), 'this is = not read');
    mkdirSync(join(sys, 'sub.conf'));
    write(join(userDir(), '00-user.conf'), 'short-name-mode = "disabled"\n[aliases]\n"one" = "u.example/one"\n');

    const cfg = load();
    expect(cfg.unqualifiedSearchRegistries).toEqual(['b.example', 'c.example']);
    expect(cfg.searchRegistriesOrigin).toBe(join(sys, '10-b.conf'));
    expect(cfg.shortNameMode).toBe('disabled');
    expect(cfg.aliases).toEqual({
      one: 'u.example/one',
      two: 'b.example/two',
      alpine: 'docker.io/library/alpine',
    });
    // Same prefix: the drop-in's entry replaces the whole earlier one.
    expect(findRegistry(cfg, 'a.example/x')).toEqual({
      prefix: 'a.example',
      location: 'mirror.a.example',
      insecure: false,
      blocked: false,
      mirrors: [],
      mirrorByDigestOnly: false,
    });
    expect(findRegistry(cfg, 'keep.example/x')?.location).toBe('keep.example');
  });

  it('an empty search list in a drop-in clears the earlier one', () => {
    write(join(etc, 'registries.conf'), 'unqualified-search-registries = ["a.example"]\n');
    write(join(etc, 'registries.conf.d', 'x.conf'), 'unqualified-search-registries = []\n');
    expect(load().unqualifiedSearchRegistries).toEqual([]);
  });

  it('CONTAINERS_REGISTRIES_CONF replaces the main file, drop-ins still apply', () => {
    write(userConf(), 'unqualified-search-registries = ["user.example"]\n');
    const custom = write(join(root, 'custom.conf'), 'unqualified-search-registries = ["custom.example"]\n[aliases]\n"x" = "custom.example/x"\n');
    write(join(etc, 'registries.conf.d', 'a.conf'), '[aliases]\n"y" = "sys.example/y"\n');
    env.CONTAINERS_REGISTRIES_CONF = custom;
    const cfg = load();
    expect(cfg.unqualifiedSearchRegistries).toEqual(['custom.example']);
    expect(cfg.aliases).toEqual({ x: 'custom.example/x', y: 'sys.example/y' });
  });

  it('CONTAINERS_REGISTRIES_CONF must exist', () => {
    env.CONTAINERS_REGISTRIES_CONF = join(root, 'nope.conf');
    expect(() => load()).toThrow(/nope\.conf: no such file/);
  });

  it('recorded aliases take precedence over registries.conf', () => {
    write(join(etc, 'registries.conf'), '[aliases]\n"app" = "a.example/app"\n"other" = "a.example/other"\n');
    write(shortNameAliasesPath({ env, home }), '[aliases]\n"app" = "b.example/app"\n');
    expect(load().aliases).toEqual({ app: 'b.example/app', other: 'a.example/other' });
  });
});

describe('errors name the file and key', () => {
  it('malformed TOML', () => {
    const path = write(join(etc, 'registries.conf'), 'unqualified-search-registries = ["a.example"\n');
    expect(() => load()).toThrow(RegistriesConfigError);
    expect(() => load()).toThrow(`${path}: invalid TOML`);
  });

  it('malformed drop-in', () => {
    const path = write(join(etc, 'registries.conf.d', 'bad.conf'), '[[registry]\n');
    expect(() => load()).toThrow(`${path}: invalid TOML`);
  });

  it('wrong types', () => {
    const path = write(join(etc, 'registries.conf'), '[[registry]]\nlocation = "a.example"\ninsecure = "yes"\n');
    expect(() => load()).toThrow(`${path}: registry[0].insecure: Invalid input: expected boolean, received string`);
    write(join(etc, 'registries.conf'), 'unqualified-search-registries = "docker.io"\n');
    expect(() => load()).toThrow(/unqualified-search-registries: .*expected array/);
    write(join(etc, 'registries.conf'), 'short-name-mode = "lenient"\n');
    expect(() => load()).toThrow(/registries\.conf: short-name-mode: /);
    write(join(etc, 'registries.conf'), '[aliases]\n"app" = 1\n');
    expect(() => load()).toThrow(/aliases\.app: .*expected string/);
    write(join(etc, 'registries.conf'), '[[registry]]\nlocation = "a.example"\n[[registry.mirror]]\nlocation = 5\n');
    expect(() => load()).toThrow(/registry\[0\]\.mirror\[0\]\.location/);
  });

  it('refuses the v1 format', () => {
    const path = write(join(etc, 'registries.conf'), "[registries.search]\nregistries = ['docker.io']\n");
    expect(() => load()).toThrow(`${path}: the v1 format`);
    expect(() => load()).toThrow(/not supported/);
  });

  it('invalid values', () => {
    const conf = join(etc, 'registries.conf');
    write(conf, '[[registry]]\nlocation = "https://a.example"\n');
    expect(() => load()).toThrow(/URI schemes are not supported/);
    write(conf, '[[registry]]\ninsecure = true\n');
    expect(() => load()).toThrow(/both location and prefix are unset/);
    write(conf, '[[registry]]\nprefix = "*.example.com/foo"\n');
    expect(() => load()).toThrow(/\*\.example\.com/);
    write(conf, '[[registry]]\nprefix = "a.example"\n');
    expect(() => load()).toThrow(/location is unset/);
    write(conf, '[aliases]\n"quay.io/app" = "quay.io/app"\n"x" = "app"\n"y" = "quay.io/app:1"\n');
    expect(() => load()).toThrow(/must not contain a registry.*must contain registry and repository.*must not contain a tag/);
    write(conf, 'unqualified-search-registries = ["quay.io/ns"]\n');
    expect(() => load()).toThrow(/not a host\[:port\]/);
    write(conf, '[[registry]]\nlocation = "a.example"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.example"\npull-from-mirror = "tag-only"\n');
    expect(() => load()).toThrow(/at the same time/);
    write(conf, '[[registry]]\nprefix = "a.example/x"\nlocation = "a.example"\ninsecure = true\n[[registry]]\nprefix = "a.example/y"\nlocation = "a.example"\n');
    expect(() => load()).toThrow(/conflicting 'insecure'/);
  });
});

describe('registry entries and pull sources', () => {
  it('rewrites the prefix to location', () => {
    const cfg = fromToml('[[registry]]\nprefix = "example.com/foo"\nlocation = "mirror.internal/bar"\n');
    expect(sources(cfg, 'example.com/foo/app:1')).toEqual(['mirror.internal/bar/app:1']);
    const [s] = pullSources(cfg, parseReference('example.com/foo/app:1'));
    expect(s).toEqual({ reference: 'mirror.internal/bar/app:1', registry: 'mirror.internal', repository: 'bar/app', insecure: false, mirror: false });
    // Only on a component boundary.
    expect(sources(cfg, 'example.com/foobar/app:1')).toEqual(['example.com/foobar/app:1']);
    expect(findRegistry(cfg, 'example.com/foobar/app')).toBeUndefined();
    expect(findRegistry(cfg, 'example.com/foo')?.prefix).toBe('example.com/foo');
  });

  it('uses the reference unchanged without a matching entry', () => {
    const cfg = fromToml('[[registry]]\nlocation = "quay.io"\ninsecure = true\n');
    expect(pullSources(cfg, parseReference('busybox'))).toEqual([
      { reference: 'docker.io/library/busybox:latest', registry: 'docker.io', repository: 'library/busybox', insecure: false, mirror: false },
    ]);
    // A port makes it another registry.
    expect(findRegistry(cfg, 'quay.io:5000/a')).toBeUndefined();
  });

  it('tries mirrors in order, then the primary, and the longest prefix wins', () => {
    const cfg = fromToml(`
[[registry]]
prefix = "example.com/foo"
location = "internal.example/bar"
[[registry.mirror]]
location = "mirror-0.local/mirror-for-foo"
[[registry.mirror]]
location = "mirror-1.local/mirrors/foo"
insecure = true

[[registry]]
location = "example.com"
[[registry.mirror]]
location = "mirror.example.com"
`);
    expect(sources(cfg, 'example.com/foo/image:latest')).toEqual([
      'mirror-0.local/mirror-for-foo/image:latest [mirror]',
      'mirror-1.local/mirrors/foo/image:latest (insecure) [mirror]',
      'internal.example/bar/image:latest',
    ]);
    expect(sources(cfg, 'example.com/other/image:1')).toEqual([
      'mirror.example.com/other/image:1 [mirror]',
      'example.com/other/image:1',
    ]);
    expect(sources(cfg, `example.com/foo/image@${DIGEST}`)[0]).toBe(`mirror-0.local/mirror-for-foo/image@${DIGEST} [mirror]`);
  });

  it('mirror-by-digest-only skips mirrors for tags', () => {
    const cfg = fromToml(`
[[registry]]
prefix = "docker.io/library"
location = "docker.io/library"
mirror-by-digest-only = true
[[registry.mirror]]
location = "cache.local/hub"
`);
    expect(sources(cfg, 'alpine:3')).toEqual(['docker.io/library/alpine:3']);
    expect(sources(cfg, `alpine@${DIGEST}`)).toEqual([`cache.local/hub/alpine@${DIGEST} [mirror]`, `docker.io/library/alpine@${DIGEST}`]);
  });

  it('per-mirror pull-from-mirror', () => {
    const cfg = fromToml(`
[[registry]]
location = "a.example"
[[registry.mirror]]
location = "digests.local"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tags.local"
pull-from-mirror = "tag-only"
`);
    expect(sources(cfg, 'a.example/x:1')).toEqual(['tags.local/x:1 [mirror]', 'a.example/x:1']);
    expect(sources(cfg, `a.example/x@${DIGEST}`)).toEqual([`digests.local/x@${DIGEST} [mirror]`, `a.example/x@${DIGEST}`]);
  });

  it('refuses blocked registries', () => {
    const cfg = fromToml('[[registry]]\nlocation = "evil.example"\nblocked = true\n[[registry]]\nprefix = "evil.example/ok"\nlocation = "evil.example/ok"\n');
    expect(() => pullSources(cfg, parseReference('evil.example/x:1'))).toThrow(BlockedRegistryError);
    expect(() => pullSources(cfg, parseReference('evil.example/x:1'))).toThrow('registry evil.example is blocked in registries.conf');
    // A longer, unblocked prefix governs its own namespace.
    expect(sources(cfg, 'evil.example/ok/x:1')).toEqual(['evil.example/ok/x:1']);
  });

  it('insecure registries', () => {
    const cfg = fromToml('[[registry]]\nlocation = "localhost:5000"\ninsecure = true\n[[registry]]\nlocation = "secure.example"\n');
    expect(isInsecure(cfg, 'localhost:5000')).toBe(true);
    expect(isInsecure(cfg, 'secure.example')).toBe(false);
    expect(isInsecure(cfg, 'localhost')).toBe(false);
    expect(isInsecure(cfg, 'other.example')).toBe(false);
    expect(sources(cfg, 'localhost:5000/app')).toEqual(['localhost:5000/app:latest (insecure)']);
  });

  it('wildcard prefixes match subdomains and apply settings without rewriting', () => {
    const cfg = fromToml(`
[[registry]]
prefix = "*.example.com"
insecure = true
[[registry.mirror]]
location = "mirror.local/all"

[[registry]]
prefix = "*.corp.example.com"
blocked = true
`);
    expect(findRegistry(cfg, 'example.com/x')).toBeUndefined();
    expect(findRegistry(cfg, 'notexample.com/x')).toBeUndefined();
    expect(findRegistry(cfg, 'a.example.com/x')?.prefix).toBe('*.example.com');
    expect(findRegistry(cfg, 'a.b.example.com:5000/x')?.prefix).toBe('*.example.com');
    expect(findRegistry(cfg, 'x.corp.example.com/x')?.prefix).toBe('*.corp.example.com');
    expect(isInsecure(cfg, 'reg.example.com')).toBe(true);
    expect(sources(cfg, 'reg.example.com/ns/app:2')).toEqual([
      'mirror.local/all/ns/app:2 [mirror]',
      'reg.example.com/ns/app:2 (insecure)',
    ]);
    expect(() => pullSources(cfg, parseReference('x.corp.example.com/a'))).toThrow(/\*\.corp\.example\.com is blocked/);
  });
});

describe('short names', () => {
  const cfg = (over: Partial<RegistriesConfig> = {}): RegistriesConfig => ({
    unqualifiedSearchRegistries: ['registry.fedoraproject.org', 'quay.io', 'docker.io'],
    shortNameMode: 'enforcing',
    registries: [],
    aliases: { fedora: 'registry.fedoraproject.org/fedora', 'library/alpine': 'docker.io/library/alpine' },
    ...over,
  });

  it('uses qualified names as they are', () => {
    expect(resolveShortName(cfg(), 'quay.io/podman/hello')).toEqual({
      candidates: ['quay.io/podman/hello:latest'],
      needsPrompt: false,
      mode: 'enforcing',
    });
    expect(resolveShortName(cfg(), 'localhost/mini:1').candidates).toEqual(['localhost/mini:1']);
  });

  it('an exact alias wins, keeping the tag or digest', () => {
    expect(resolveShortName(cfg(), 'fedora:39')).toEqual({
      candidates: ['registry.fedoraproject.org/fedora:39'],
      alias: 'registry.fedoraproject.org/fedora',
      needsPrompt: false,
      mode: 'enforcing',
      shortName: 'fedora',
    });
    expect(resolveShortName(cfg(), `library/alpine@${DIGEST}`).candidates).toEqual([`docker.io/library/alpine@${DIGEST}`]);
    // Aliases are keyed by the name as written: "alpine" is not "library/alpine".
    expect(resolveShortName(cfg(), 'alpine').alias).toBeUndefined();
  });

  it('otherwise tries each search registry, with library/ on docker.io', () => {
    const r = resolveShortName(cfg({ shortNameMode: 'disabled' }), 'alpine:3');
    expect(r.candidates).toEqual([
      'registry.fedoraproject.org/alpine:3',
      'quay.io/alpine:3',
      'docker.io/library/alpine:3',
    ]);
    expect(r.needsPrompt).toBe(false);
    expect(unpromptedCandidates(r)).toEqual(r.candidates);
  });

  it('enforcing: prompt, or fail without a TTY', () => {
    const r = resolveShortName(cfg(), 'team/app');
    expect(r.needsPrompt).toBe(true);
    expect(r.shortName).toBe('team/app');
    expect(r.candidates[2]).toBe('docker.io/team/app:latest');
    expect(() => unpromptedCandidates(r)).toThrow('short-name resolution enforced but cannot prompt without a TTY');
  });

  it('permissive: prompt on a TTY, else all candidates in order', () => {
    const r = resolveShortName(cfg({ shortNameMode: 'permissive' }), 'app');
    expect(r.needsPrompt).toBe(true);
    expect(unpromptedCandidates(r)).toEqual(['registry.fedoraproject.org/app:latest', 'quay.io/app:latest', 'docker.io/library/app:latest']);
  });

  it('a single search registry is not ambiguous', () => {
    const r = resolveShortName(cfg({ unqualifiedSearchRegistries: ['docker.io'] }), 'busybox');
    expect(r).toMatchObject({ candidates: ['docker.io/library/busybox:latest'], needsPrompt: false });
    expect(unpromptedCandidates(r)).toEqual(['docker.io/library/busybox:latest']);
  });

  it('fails without aliases or search registries', () => {
    expect(() => resolveShortName(cfg({ unqualifiedSearchRegistries: [] }), 'app')).toThrow(
      /short-name "app" did not resolve to an alias and no containers-registries.conf\(5\) was found/,
    );
    expect(() => resolveShortName(cfg({ unqualifiedSearchRegistries: [], searchRegistriesOrigin: '/x/registries.conf' }), 'app')).toThrow(
      /no unqualified-search registries are defined in "\/x\/registries.conf"/,
    );
  });

  it('rejects invalid names', () => {
    expect(() => resolveShortName(cfg(), 'UPPER')).toThrow(/invalid reference format/);
  });
});

describe('recordAlias', () => {
  it('round-trips through short-name-aliases.conf in the cache home', () => {
    write(join(etc, 'registries.conf'), 'unqualified-search-registries = ["quay.io", "docker.io"]\n[aliases]\n"app" = "quay.io/old/app"\n');
    recordAlias('app:1', 'docker.io/team/app:1', { env, home });
    recordAlias('alpine', 'docker.io/library/alpine', { env, home });
    const path = join(home, '.cache', 'containers', 'short-name-aliases.conf');
    expect(shortNameAliasesPath({ env, home })).toBe(path);
    expect(readFileSync(path, 'utf8')).toContain('[aliases]');
    expect(readdirSync(dirname(path))).toEqual(['short-name-aliases.conf']); // no temporary left over

    const loaded = load();
    expect(loaded.aliases).toEqual({ app: 'docker.io/team/app', alpine: 'docker.io/library/alpine' });
    expect(resolveShortName(loaded, 'app:2')).toMatchObject({ candidates: ['docker.io/team/app:2'], needsPrompt: false });

    // Overwrites in place and keeps the others.
    recordAlias('app', 'quay.io/team/app', { env, home });
    expect(load().aliases).toEqual({ app: 'quay.io/team/app', alpine: 'docker.io/library/alpine' });
  });

  it('honours XDG_CACHE_HOME', () => {
    env.XDG_CACHE_HOME = join(root, 'cache');
    recordAlias('x', 'quay.io/x', { env, home });
    expect(readFileSync(join(root, 'cache', 'containers', 'short-name-aliases.conf'), 'utf8')).toMatch(/"?x"? = "quay.io\/x"/);
  });

  it('validates both sides', () => {
    expect(() => recordAlias('quay.io/x', 'quay.io/x', { env, home })).toThrow(/must not contain a registry/);
    expect(() => recordAlias('x', 'x', { env, home })).toThrow(/must contain registry and repository/);
  });

  it('refuses to overwrite a corrupt file', () => {
    const path = write(shortNameAliasesPath({ env, home }), '[aliases\n');
    expect(() => recordAlias('x', 'quay.io/x', { env, home })).toThrow(`${path}: invalid TOML`);
    expect(readFileSync(path, 'utf8')).toBe('[aliases\n');
  });
});
