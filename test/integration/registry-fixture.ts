// The registry the tests start (scripts/registry.mjs, shared with the benchmark).
export { freePort, startRegistry, writeRegistriesConf, type Registry } from '../../scripts/registry.mjs';
