// `events --filter` and how events are printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { humanEvent, jsonEvent, templateEvent, truncateId } from '../../src/cli/event-format';
import { compileTemplate } from '../../src/cli/template';
import { matchEvent, parseEventFilters } from '../../src/engine/events';
import type { SelkieEvent } from '../../src/state/events';

const ID = 'f1304f98d19c8c497c2b3903a5dc89a955b9ce5fcf151df97223f3bcacedd5b9';
const T = 1_795_450_519_312_309_843n;

const ctr = (status: string, extra: Partial<SelkieEvent> = {}): SelkieEvent => ({
  type: 'container',
  status,
  id: ID,
  name: 't1',
  image: 'localhost/bb:latest',
  attributes: {},
  time: T,
  ...extra,
});
const img = (status: string, extra: Partial<SelkieEvent> = {}): SelkieEvent => ({ type: 'image', status, id: 'de265a524b1f', name: 'localhost/bb', time: T, ...extra });

const pass = (filters: string[], e: SelkieEvent) => matchEvent(parseEventFilters(filters), e);

describe('event filters', () => {
  it('matches containers by name or ID prefix, images likewise', () => {
    expect(pass(['container=t1'], ctr('start'))).toBe(true);
    expect(pass(['container=f1304f'], ctr('start'))).toBe(true);
    expect(pass(['container=t'], ctr('start'))).toBe(false);
    expect(pass(['container=t1'], img('pull', { name: 't1' }))).toBe(false);
    expect(pass(['image=localhost/bb'], img('pull'))).toBe(true);
    expect(pass(['image=de26'], img('pull'))).toBe(true);
    // Podman: image= is about image events
    expect(pass(['image=localhost/bb:latest'], ctr('start'))).toBe(false);
  });

  it('matches event (or status), type and labels', () => {
    expect(pass(['event=start'], ctr('start'))).toBe(true);
    expect(pass(['status=start'], ctr('start'))).toBe(true);
    expect(pass(['event=die'], ctr('died'))).toBe(true);
    expect(pass(['type=image'], ctr('start'))).toBe(false);
    expect(pass(['type=container'], ctr('start'))).toBe(true);
    const labelled = ctr('create', { attributes: { team: 'a', tier: '' } });
    expect(pass(['label=team'], labelled)).toBe(true);
    expect(pass(['label=team=a'], labelled)).toBe(true);
    expect(pass(['label=team=b'], labelled)).toBe(false);
    expect(pass(['label=tier='], labelled)).toBe(true);
    expect(pass(['label=other'], labelled)).toBe(false);
    expect(pass(['LABEL=team'], labelled)).toBe(true);
  });

  it('ORs filters with the same key and ANDs different keys', () => {
    expect(pass(['event=create', 'event=remove'], ctr('remove'))).toBe(true);
    expect(pass(['event=create', 'status=remove'], ctr('remove'))).toBe(true);
    expect(pass(['event=create', 'event=remove'], ctr('start'))).toBe(false);
    expect(pass(['event=create', 'event=remove', 'container=t1'], ctr('remove'))).toBe(true);
    expect(pass(['event=create', 'event=remove', 'container=other'], ctr('remove'))).toBe(false);
    expect(pass(['container=t1', 'container=t2'], ctr('remove', { name: 't2', id: 'aaa' }))).toBe(true);
  });

  it('bounds by time, strictly', () => {
    const f = parseEventFilters([]);
    f.since = T;
    expect(matchEvent(f, ctr('start'))).toBe(false);
    f.since = T - 1n;
    f.until = T + 1n;
    expect(matchEvent(f, ctr('start'))).toBe(true);
    f.until = T;
    expect(matchEvent(f, ctr('start'))).toBe(false);
  });

  it("refuses unknown filters with Podman's message", () => {
    expect(() => parseEventFilters(['foo=bar'])).toThrow('foo is an invalid filter');
    expect(() => parseEventFilters(['foo'])).toThrow('foo is an invalid filter');
    expect(() => parseEventFilters(['=x'])).toThrow('=x is an invalid filter');
  });
});

describe('printing events', () => {
  const tz = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'UTC';
  });
  afterAll(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  it("prints Podman's human line", () => {
    expect(humanEvent(ctr('start'))).toBe(`2026-11-23 16:15:19.312309843 +0000 UTC container start ${ID} (image=localhost/bb:latest, name=t1)`);
    expect(humanEvent(ctr('create', { attributes: { zeta: '1', alpha: 'x y' } }))).toBe(
      `2026-11-23 16:15:19.312309843 +0000 UTC container create ${ID} (image=localhost/bb:latest, name=t1, alpha=x y, zeta=1)`,
    );
    expect(humanEvent(ctr('start'), true)).toBe('2026-11-23 16:15:19.312309843 +0000 UTC container start f1304f98d19c (image=localhost/bb:latest, name=t1)');
    expect(humanEvent(img('tag'))).toBe('2026-11-23 16:15:19.312309843 +0000 UTC image tag de265a524b1f localhost/bb');
    // no ID: Podman leaves its place empty
    expect(humanEvent(img('loadfromarchive', { id: undefined, name: '/tmp/s.tar' }))).toBe(
      '2026-11-23 16:15:19.312309843 +0000 UTC image loadfromarchive  /tmp/s.tar',
    );
    expect(humanEvent({ type: 'system', status: 'log-rotation', name: '/run/x/events.log', time: T })).toBe(
      '2026-11-23 16:15:19.312309843 +0000 UTC system log-rotation /run/x/events.log',
    );
    expect(humanEvent({ type: 'volume', status: 'create', name: 'v1', time: T })).toBe('2026-11-23 16:15:19.312309843 +0000 UTC volume create v1');
  });

  it("prints podman events --format json's fields", () => {
    expect(jsonEvent(ctr('died', { containerExitCode: 37, attributes: { b: '2', a: '<&>' } }))).toBe(
      `{"ContainerExitCode":37,"ID":"${ID}","Image":"localhost/bb:latest","Name":"t1","Status":"died",` +
        '"time":1795450519,"timeNano":1795450519312309843,"Type":"container","Attributes":{"a":"\\u003c\\u0026\\u003e","b":"2"}}',
    );
    expect(jsonEvent(img('pull', { id: undefined }))).toBe(
      '{"Name":"localhost/bb","Status":"pull","time":1795450519,"timeNano":1795450519312309843,"Type":"image","Attributes":null}',
    );
    // the long number is exact, which JSON.parse of a double would not be
    expect(jsonEvent(ctr('start'))).toContain('"timeNano":1795450519312309843');
  });

  it('gives templates the same fields', () => {
    const render = compileTemplate('{{.Type}} {{.Status}} {{.Name}} {{.Time}} {{.TimeNano}} {{.ContainerExitCode}} {{index .Attributes "team"}}');
    expect(render(templateEvent(ctr('died', { containerExitCode: 2, attributes: { team: 'a' } })))).toBe(
      'container died t1 1795450519 1795450519312309843 2 a',
    );
  });

  it('truncates IDs as containers/storage does', () => {
    expect(truncateId(ID)).toBe('f1304f98d19c');
    expect(truncateId(`sha256:${ID}`)).toBe('f1304f98d19c');
  });
});
