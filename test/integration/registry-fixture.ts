// The registry the tests start (scripts/registry.mjs, shared with the benchmark),
// and a proxy in front of it that records what a command asked.
import { createServer, request as httpRequest } from 'node:http';
import { freePort, type Registry } from '../../scripts/registry.mjs';

export { freePort, startRegistry, writeRegistriesConf, type Registry } from '../../scripts/registry.mjs';

export interface RecordingProxy {
  host: string;
  /** "METHOD /path" of every request since the last clear */
  requests: string[];
  stop(): Promise<void>;
}

/** Relays every request to `reg` unchanged, noting each. */
export async function startRecordingProxy(reg: Registry): Promise<RecordingProxy> {
  const port = await freePort();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const up = httpRequest(
      { host: '127.0.0.1', port: Number(reg.host.split(':')[1]), path: req.url, method: req.method, headers: { ...req.headers, host: reg.host } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
