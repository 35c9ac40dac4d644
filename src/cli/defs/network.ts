// Commands of the network area (`selkie network ...`); gathered by ../main.ts.
import { bool, eachName, engine, FORMAT, FORMAT_F, print, str, type CommandDef, type GroupTable } from '../command';
import { ExitError } from '../errors';

const LS_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}';

export const commands: CommandDef[] = [
  {
    name: '__network-create',
    usage: 'selkie network create [options] [NAME]',
    description: 'Create a bridge network (a name selkieN when none is given)',
    options: [
      str('driver', 'd', 'network driver (only bridge)'),
      str('subnet', undefined, 'IPv4 subnet in CIDR form (default: the first free 10.89.N.0/24)'),
      str('gateway', undefined, 'gateway address in the subnet (default: its first address)'),
      bool('internal', undefined, 'no traffic to or from outside the network'),
      str('label', undefined, 'set metadata on the network (KEY=VALUE)', true),
      str('opt', 'o', 'driver options: mtu=N (default 65520, as pasta)', true),
      bool('disable-dns', undefined, 'containers on the network do not get each other\'s names'),
      bool('ignore', undefined, 'do not fail when the network exists'),
      bool('ipv6', undefined, 'IPv6 (not supported)'),
    ],
    maxArgs: 1,
    hidden: true,
    session: true,
    async run(g, o, [name]) {
      if (o.ipv6) throw new ExitError(125, 'Error: IPv6 networks are not supported');
      const ctx = await engine(g);
      const { parseLabels } = await import('../../engine/create');
      const { createNetwork } = await import('../../engine/networks');
      const rec = createNetwork(ctx, {
        name,
        driver: o.driver,
        subnet: o.subnet,
        gateway: o.gateway,
        internal: !!o.internal,
        labels: parseLabels(o.label ?? []),
        options: parseLabels(o.opt ?? []),
        disableDns: !!o.disableDns,
        ignoreExisting: !!o.ignore,
      });
      print(rec.name);
    },
  },
  {
    name: '__network-ls',
    usage: 'selkie network ls [options]',
    description: 'List networks',
    options: [
      FORMAT,
      bool('quiet', 'q', 'print only the network names'),
      str('filter', 'f', 'filter output: name, id, label, driver, dangling', true),
      bool('no-trunc', undefined, 'do not truncate the network IDs'),
      bool('noheading', 'n', 'do not print column headings'),
    ],
    maxArgs: 0,
    hidden: true,
    async run(g, o) {
      const ctx = await engine(g);
      const { listFiltered, networkView } = await import('../../engine/networks');
      const nets = listFiltered(ctx, o.filter ?? []);
      if (o.quiet) return print(nets.map((n) => n.name).join('\n'));
      const { isJsonFormat, renderReport } = await import('../report');
      if (o.format && isJsonFormat(o.format)) return print(JSON.stringify(nets, null, 4));
      const rows = nets.map((n) => networkView(n, !o.noTrunc));
      print(renderReport(rows, { format: o.format, defaultTable: LS_TABLE, headers: { ID: 'NETWORK ID' }, noHeading: !!o.noheading }));
    },
  },
  {
    name: '__network-inspect',
    usage: 'selkie network inspect [options] NETWORK [NETWORK...]',
    description: 'Show details of networks',
    options: [FORMAT_F],
    minArgs: 1,
    hidden: true,
    async run(g, o, names) {
      const ctx = await engine(g);
      const { networkView, requireNetwork } = await import('../../engine/networks');
      const { inspectNamed, isJsonFormat } = await import('../report');
      const { output, missing } = inspectNamed(
        names,
        (n) => {
          const rec = requireNetwork(ctx, n);
          return o.format === undefined || isJsonFormat(o.format) ? rec : networkView(rec);
        },
        o.format,
      );
      print(output);
      if (missing) throw new ExitError(125, `Error: ${missing}`);
    },
  },
  {
    name: '__network-rm',
    usage: 'selkie network rm [options] NETWORK [NETWORK...]',
    description: 'Remove networks (in use: refused unless --force, which removes the containers using them)',
    options: [bool('force', 'f', 'remove the containers using the network first'), str('time', 't', 'seconds to wait before killing running containers (ignored)')],
    minArgs: 1,
    hidden: true,
    session: true,
    async run(g, o, names) {
      const ctx = await engine(g);
      const { removeNetwork } = await import('../../engine/networks');
      await eachName(names, async (n) => print(await removeNetwork(ctx, n, !!o.force)));
    },
  },
  {
    name: '__network-prune',
    usage: 'selkie network prune [options]',
    description: 'Remove all networks no container uses',
    options: [bool('force', 'f', 'do not ask for confirmation'), str('filter', undefined, 'filter: name, id, label, driver', true)],
    maxArgs: 0,
    hidden: true,
    session: true,
    async run(g, o) {
      const { confirmed } = await import('../confirm');
      if (!(await confirmed(o.force, 'WARNING! This will remove all networks not used by at least one container.\nAre you sure you want to continue? [y/N] '))) return 0;
      const ctx = await engine(g);
      const { pruneNetworks } = await import('../../engine/networks');
      print(pruneNetworks(ctx, o.filter ?? []).join('\n'));
    },
  },
  {
    name: '__network-exists',
    usage: 'selkie network exists NETWORK',
    description: 'Exit 0 if the network exists, 1 if not',
    options: [],
    minArgs: 1,
    maxArgs: 1,
    hidden: true,
    async run(g, _o, [name]) {
      const ctx = await engine(g);
      const { requireNetwork } = await import('../../engine/networks');
      const { NotFoundError } = await import('../../engine/errors');
      try {
        requireNetwork(ctx, name);
        return 0;
      } catch (err) {
        if (err instanceof NotFoundError) return 1;
        throw err;
      }
    },
  },
  {
    name: '__network-connect',
    usage: 'selkie network connect [options] NETWORK CONTAINER',
    description: 'Connect a container to a network (a running one gets the interface at once)',
    options: [str('alias', undefined, 'another name for the container on this network', true), str('ip', undefined, 'the container\'s IPv4 address on this network')],
    minArgs: 2,
    maxArgs: 2,
    hidden: true,
    session: true,
    async run(g, o, [net, ctr]) {
      const ctx = await engine(g);
      const { connectNetwork } = await import('../../engine/networks');
      await connectNetwork(ctx, net, ctr, { aliases: o.alias, ip: o.ip });
    },
  },
  {
    name: '__network-disconnect',
    usage: 'selkie network disconnect [options] NETWORK CONTAINER',
    description: 'Disconnect a container from a network (a running one loses the interface at once)',
    options: [bool('force', 'f', 'accepted for compatibility')],
    minArgs: 2,
    maxArgs: 2,
    hidden: true,
    session: true,
    async run(g, _o, [net, ctr]) {
      const ctx = await engine(g);
      const { disconnectNetwork } = await import('../../engine/networks');
      disconnectNetwork(ctx, net, ctr);
    },
  },
];

export const groups: GroupTable = {
  network: {
    create: { command: '__network-create' },
    ls: { command: '__network-ls' },
    list: { command: '__network-ls' },
    inspect: { command: '__network-inspect' },
    rm: { command: '__network-rm' },
    remove: { command: '__network-rm' },
    prune: { command: '__network-prune' },
    exists: { command: '__network-exists' },
    connect: { command: '__network-connect' },
    disconnect: { command: '__network-disconnect' },
  },
};
