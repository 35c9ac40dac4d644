import { describe, expect, it } from 'vitest';
import { applyChanges, parseChanges } from '../../src/engine/changes';
import { EngineError } from '../../src/engine/errors';

describe('--change instructions', () => {
  it('alone (import): ENV starts from the default PATH', () => {
    expect(parseChanges(['ENV A=1'])).toEqual({ Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1'] });
    expect(parseChanges([])).toEqual({});
  });

  it('CMD and ENTRYPOINT: JSON arrays as they are, anything else through /bin/sh -c', () => {
    expect(applyChanges({}, ['CMD ["cat","/hello"]'])).toEqual({ Cmd: ['cat', '/hello'] });
    expect(applyChanges({}, ['cmd echo hi'])).toEqual({ Cmd: ['/bin/sh', '-c', 'echo hi'] });
    expect(applyChanges({}, ['ENTRYPOINT [not json'])).toEqual({ Entrypoint: ['/bin/sh', '-c', '[not json'] });
  });

  it('on a base config: ENV, LABEL, EXPOSE, VOLUME, ONBUILD add; the rest replace; base is left alone', () => {
    const base = {
      Env: ['PATH=/bin', 'A=1'],
      Labels: { keep: 'yes', over: 'old' },
      ExposedPorts: { '80/tcp': {} },
      Volumes: { '/data': {} },
      Cmd: ['sh'],
      User: 'app',
    };
    const snapshot = JSON.parse(JSON.stringify(base));
    const out = applyChanges(base, [
      'ENV A=2 B="two words"',
      'ENV C 3',
      'LABEL over=new extra=1',
      'EXPOSE 8080 53/UDP',
      'VOLUME ["/v1", "/v2"]',
      'VOLUME /v3 /v4',
      'USER 33:33',
      'WORKDIR /srv',
      'STOPSIGNAL SIGTERM',
      'ONBUILD RUN echo hi',
    ]);
    expect(out).toEqual({
      Env: ['PATH=/bin', 'A=2', 'B=two words', 'C=3'],
      Labels: { keep: 'yes', over: 'new', extra: '1' },
      ExposedPorts: { '80/tcp': {}, '8080/tcp': {}, '53/udp': {} },
      Volumes: { '/data': {}, '/v1': {}, '/v2': {}, '/v3': {}, '/v4': {} },
      Cmd: ['sh'],
      User: '33:33',
      WorkingDir: '/srv',
      StopSignal: 'SIGTERM',
      OnBuild: ['RUN echo hi'],
    });
    expect(base).toEqual(snapshot);
  });

  it('Docker nulls in the base count as empty', () => {
    expect(applyChanges({ Labels: null, Env: null }, ['LABEL a=b', 'ENV X=1'])).toEqual({
      Labels: { a: 'b' },
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'X=1'],
    });
  });

  it.each([
    ['BOGUS x', /BOGUS is not one of CMD, ENTRYPOINT/],
    ['RUN echo hi', /RUN is not one of/],
    ['USER', /USER needs an argument/],
    ['CMD   ', /CMD needs an argument/],
    ['', /invalid change ""/],
    ['ENV NOVALUE', /expected KEY=VALUE/],
    ['EXPOSE http', /"http" is not a port/],
    ['STOPSIGNAL ki ll', /is not a signal/],
  ])('refuses %j with a clear error (exit 125)', (change, message) => {
    let err: unknown;
    try {
      applyChanges({}, [change]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).exitCode).toBe(125);
    expect((err as Error).message).toMatch(message);
  });
});
