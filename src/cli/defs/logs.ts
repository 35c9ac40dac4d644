// Commands of the logs area; gathered by ../main.ts.
import type { CommandDef, GroupTable } from '../command';

export const commands: CommandDef[] = [];
export const groups: GroupTable = {};
