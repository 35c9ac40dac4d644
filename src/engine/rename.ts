// rename: a new name for a container, unique among all containers (checked
// under the store lock, where names are given out).
import { recordContainerEvent } from '../state/events';
import { NAME_PATTERN, NAME_RULE } from '../state/names';
import type { EngineContext } from './context';
import { EngineError } from './errors';
import { requireContainer } from './remove';

export function renameContainer(ctx: EngineContext, ref: string, name: string): void {
  if (!NAME_PATTERN.test(name)) throw new EngineError(`container name "${name}" is invalid: ${NAME_RULE}`);
  const rec = requireContainer(ctx, ref);
  ctx.containers.locked(() => {
    const holder = ctx.containers.list().find((c) => c.name === name && c.id !== rec.id);
    if (holder) throw new EngineError(`the container name "${name}" is already in use by ${holder.id}: that name is already in use`);
    const cur = ctx.containers.get(rec.id);
    if (!cur) throw new EngineError(`no container with name or ID "${ref}" found: no such container`);
    cur.name = name;
    ctx.containers.save(cur);
    recordContainerEvent(ctx, 'rename', cur);
  });
}
