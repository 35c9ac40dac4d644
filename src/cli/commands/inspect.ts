// inspect: containers first, then images, as Podman looks names up.
import type { EngineContext } from '../../engine/context';
import { inspectContainer, inspectImage } from '../../engine/inspect';
import { ExitError } from '../errors';
import { renderInspect } from '../report';

export async function inspect(ctx: EngineContext, refs: string[], o: { format?: string; type: 'all' | 'container' | 'image' }): Promise<void> {
  const out: unknown[] = [];
  const missing: string[] = [];
  for (const ref of refs) {
    let found: unknown;
    if (o.type !== 'image') {
      let c;
      try {
        c = ctx.containers.lookup(ref);
      } catch (err) {
        throw new ExitError(125, `Error: ${(err as Error).message}`);
      }
      if (c) found = inspectContainer(ctx, c);
    }
    if (found === undefined && o.type !== 'container') {
      const i = ctx.images.lookup(ref);
      if (i) found = inspectImage(ctx, i, ctx.images.config(i.id));
    }
    if (found === undefined) missing.push(ref);
    else out.push(found);
  }
  if (out.length || !missing.length) process.stdout.write(renderInspect(out, o.format).replace(/\n?$/, '\n'));
  if (missing.length) {
    const what = o.type === 'container' ? 'no such container' : o.type === 'image' ? 'image not known' : 'no such object';
    throw new ExitError(125, missing.map((m) => `Error: ${what}: "${m}"`).join('\n'));
  }
}
