/**
 * The benchyard agent: runs on a remote machine in a container (or pod) beside the benchmarks
 * (host network, the host's /proc and /sys mounted read-only under /host), samples with
 * the same collectors the controller uses on its own machine, batches, and hands the
 * batches back on stdout. It exits when its stdin closes: a lost controller leaves no
 * agent running.
 *
 *   node agent.cjs --interval 1000 --host <name> [--fs-root /host] [--quiet] [--no-host] [--no-gpu]
 */
import { parseArgs } from 'node:util';
import type { Logger, MetricSample, MetricsSummary } from '../core/index.js';
import { NvidiaSmiSource } from '../metrics/gpu/index.js';
import { HostCollector } from '../metrics/host-collector.js';
import { MachineMonitor, type ContainerWatch } from '../metrics/index.js';
import { containerHostPid } from './container-pid.js';
import { lineReader, PROTOCOL_VERSION, type Command, type Reply } from './protocol.js';

const { values: args } = parseArgs({
  options: {
    interval: { type: 'string', default: '1000' },
    host: { type: 'string', default: 'unknown' },
    'fs-root': { type: 'string', default: '/host' },
    quiet: { type: 'boolean', default: false },
    'no-host': { type: 'boolean', default: false },
    'no-gpu': { type: 'boolean', default: false },
    'batch-ms': { type: 'string', default: '1000' },
  },
});

const send = (reply: Reply) => process.stdout.write(`${JSON.stringify(reply)}\n`);
const log = (level: string) => (message: string) => process.stderr.write(`${level} ${message}\n`);
const logger: Logger = { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') };

/** Samples wait here and leave as one `samples` line per batch period (or every 2000). */
let pending: MetricSample[] = [];
const flushOut = () => {
  if (pending.length === 0) return;
  send({ t: 'samples', samples: pending });
  pending = [];
};
const intervalMs = Number(args.interval);
const fsRoot = args['fs-root']!;
const monitor = new MachineMonitor({
  host: args.host!,
  intervalMs,
  fsRoot,
  quiet: args.quiet!,
  output: {
    write: (samples) => {
      pending.push(...samples);
      if (pending.length >= 2000) flushOut();
    },
  },
  collectors: args['no-host'] ? [] : [new HostCollector({ fsRoot, logger })],
  sources: args['no-gpu'] ? [] : [new NvidiaSmiSource({ intervalMs, logger })],
  logger,
});
const batchTimer = setInterval(flushOut, Number(args['batch-ms']));
const watches = new Map<string, ContainerWatch>();
let resumeSampling: (() => void) | undefined;

let stopping: Promise<void> | undefined;
const stop = () =>
  (stopping ??= (async () => {
    clearInterval(batchTimer);
    await monitor.stop();
    flushOut();
    send({ t: 'stopped' });
  })());

async function handle(cmd: Command): Promise<void> {
  switch (cmd.op) {
    case 'start':
      await monitor.start(cmd.runId);
      return;
    case 'watch': {
      // A pod's container comes by its CRI id alone: its processes are found by their cgroup.
      const pid = cmd.pid > 0 ? cmd.pid : await containerHostPid(cmd.id, fsRoot);
      watches.set(cmd.id, monitor.watch(cmd.ctx, { id: cmd.id, pid }));
      return;
    }
    case 'finish': {
      const summary: MetricsSummary = (await watches.get(cmd.id)?.finish()) ?? { samples: 0 };
      watches.delete(cmd.id);
      flushOut(); // the repetition's samples before its summary
      send({ t: 'summary', id: cmd.id, summary });
      return;
    }
    case 'quiesce':
      resumeSampling ??= await monitor.quiesce();
      flushOut(); // what was sampled before the quiet period
      send({ t: 'quiesced', ok: resumeSampling !== undefined });
      return;
    case 'resume':
      resumeSampling?.();
      resumeSampling = undefined;
      return;
    case 'stop':
      await stop();
      process.exit(0);
  }
}

// Commands are handled one at a time, in order.
let queue = Promise.resolve();
process.stdin.on(
  'data',
  lineReader<Command>(
    (cmd) => {
      queue = queue
        .then(() => handle(cmd))
        .catch((err: unknown) => {
          send({ t: 'error', message: String(err) });
        });
    },
    (bad) => send({ t: 'error', message: `not a command: ${bad.slice(0, 200)}` }),
  ),
);
process.stdin.on('end', () => void stop().then(() => process.exit(0)));
send({ t: 'ready', version: PROTOCOL_VERSION, node: process.version });
