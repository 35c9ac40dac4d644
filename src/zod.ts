// zod, as every module here uses it.  Without JIT: zod 4 otherwise compiles
// each object schema into a function with new Function() on its first parse,
// which a command that parses each document once (and V8's code cache cannot
// keep) pays for at every start (~2 ms of a re-pull).
import { z } from 'zod';

z.config({ jitless: true });

export { z };
