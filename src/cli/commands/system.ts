// info and version.
import { goArch } from '../../image/platform';
import type { EngineContext } from '../../engine/context';
import { info } from '../../engine/info';
import { compileTemplate, normalizeFormat } from '../template';
import { toYaml } from '../yaml';

function render(data: unknown, format: string | undefined, fallback: (d: unknown) => string): string {
  if (!format) return fallback(data);
  if (format === 'json') return JSON.stringify(data, null, 4);
  return compileTemplate(normalizeFormat(format))(data);
}

export async function showInfo(ctx: EngineContext, format?: string): Promise<string> {
  const { VERSION } = await import('../version');
  return render(info(ctx, VERSION), format, (d) => toYaml(d));
}

export function showVersion(version: string, format?: string): string {
  const data = { Client: { Version: version, APIVersion: version, NodeVersion: process.version, OsArch: `linux/${goArch()}` } };
  return render(data, format, () =>
    [
      `Version:      ${version}`,
      `API Version:  ${version}`,
      `Node Version: ${process.version}`,
      `OS/Arch:      linux/${goArch()}`,
    ].join('\n'),
  );
}
