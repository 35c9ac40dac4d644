// zod's settings, imported for its effect by every module that uses zod
// (each imports Zod Mini itself, `import * as z from 'zod/mini'`, so that the
// bundler keeps only the parts it uses: a re-exported namespace would keep
// all of it, every locale included).
//
// Zod Mini, the tree-shakable form of zod: the classic API attaches dozens
// of methods to every schema it makes and cannot be tree-shaken; loading it
// and building our schemas cost ~10 ms of every command that validates a
// document (a re-pull, a network command), and half a megabyte of bundle.
// English messages, as the classic API gives them.  Without JIT: zod
// otherwise compiles each object schema with new Function() on its first
// parse, which a command that parses each document once (and V8's code
// cache cannot keep) pays for at every start.
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config({ ...en(), jitless: true });
