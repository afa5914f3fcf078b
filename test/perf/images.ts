/**
 * Image transfer to a machine, the project's benchmark image (benchyard/bench-tools, the
 * biggest of images/) into test host h1 over its SSH connection: registry (push from this
 * engine to 127.0.0.1:5000, pull by digest from 10.250.1.1:5000 on h1) against
 * `docker save | docker load` streamed over SSH; each first transfer starts from an h1
 * without the image, then the same transfer again. Prints a table; asserts nothing.
 * Needs `scripts/services up hosts registry`. `npm run perf:images`.
 *
 * h1 keeps the base layers other images there share (benchyard/agent is built on
 * benchyard/base): that is what a machine looks like after its first benchmark.
 */
import type Docker from 'dockerode';
import { Ssh2Connector } from '../../providers/ssh/index.js';
import { silentLogger } from '../../src/core/index.js';
import { ensureImage, pullByDigest, pushImage, RegistryClient } from '../../src/images/index.js';
import { BENCH_IMAGE, docker } from '../helpers/services.js';
import { DEV_SSH_HOSTS, devEndpoint, hostEngine, requireSshHosts } from '../helpers/remote-hosts.js';
import { printAccounted } from './processes.js';

const PUSH = process.env.BENCHYARD_TEST_REGISTRY ?? '127.0.0.1:5000';
const PULL = `10.250.1.1:${PUSH.split(':')[1] ?? '5000'}`;
const REPO = BENCH_IMAGE.split(':')[0]!;

/** Removes every name of the benchmark image from h1 (tag and registry digests). */
async function removeFromH1(h1: Docker): Promise<void> {
  const names = (await h1.listImages())
    .flatMap((i) => [...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])])
    .filter((n) => n === BENCH_IMAGE || n.includes(`/${REPO}@`) || n.includes(`/${REPO}:`));
  for (const n of names)
    await h1
      .getImage(n)
      .remove()
      .catch(() => undefined);
  const left = await h1
    .getImage(BENCH_IMAGE)
    .inspect()
    .then(() => true)
    .catch(() => false);
  if (left) throw new Error(`${BENCH_IMAGE} is still on h1 (a container uses it?)`);
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, performance.now() - t0];
}

async function main(): Promise<void> {
  await requireSshHosts();
  await new RegistryClient(PUSH).ping();
  const h = DEV_SSH_HOSTS[0]!;
  const local = docker();
  const direct = hostEngine(h);
  const session = await new Ssh2Connector({ logger: silentLogger }).connect(
    devEndpoint(h),
    AbortSignal.timeout(30_000),
  );
  const h1 = session.docker;
  const size = (await local.getImage(BENCH_IMAGE).inspect()).Size;
  const rows: [string, number, string][] = [];
  const registry = { push: PUSH, pull: PULL };
  try {
    await removeFromH1(direct);
    const [pushed, pushMs] = await timed(() => pushImage(local, BENCH_IMAGE, PUSH));
    const [pulled, pullMs] = await timed(() => pullByDigest(h1, PULL, REPO, pushed.digest));
    const note = `push ${(pushMs / 1000).toFixed(1)} s (${pushed.layers.moved} layers sent, ${pushed.layers.skipped} present) + pull ${(pullMs / 1000).toFixed(1)} s (${pulled.layers.moved} fetched, ${pulled.layers.skipped} present)`;
    rows.push(['registry: push + pull by digest', pushMs + pullMs, note]);

    await removeFromH1(direct);
    const [warm, warmMs] = await timed(() =>
      ensureImage(h1, BENCH_IMAGE, { source: local, machine: 'h1', registry }),
    );
    rows.push([
      'registry: already pushed (ensureImage)',
      warmMs,
      `via ${warm.via}, ${warm.layers?.moved ?? 0} layers fetched, ${warm.layers?.skipped ?? 0} present`,
    ]);
    const [again, againMs] = await timed(() =>
      ensureImage(h1, BENCH_IMAGE, { source: local, machine: 'h1', registry }),
    );
    rows.push(['registry: second transfer (ensureImage)', againMs, `via ${again.via}`]);
    const [[p2, q2], rawMs] = await timed(async () => {
      const p = await pushImage(local, BENCH_IMAGE, PUSH);
      return [p, await pullByDigest(h1, PULL, REPO, p.digest)] as const;
    });
    rows.push([
      'registry: second push + pull anyway',
      rawMs,
      `${p2.layers.moved} layers sent, ${q2.layers.moved} fetched, up to date: ${q2.upToDate}`,
    ]);

    await removeFromH1(direct);
    const [first, firstMs] = await timed(() =>
      ensureImage(h1, BENCH_IMAGE, { source: local, machine: 'h1' }),
    );
    rows.push(['save | load over SSH: first transfer', firstMs, `via ${first.via}`]);
    const [second, secondMs] = await timed(() =>
      ensureImage(h1, BENCH_IMAGE, { source: local, machine: 'h1' }),
    );
    rows.push(['save | load over SSH: second transfer', secondMs, `via ${second.via}`]);
  } finally {
    await session.close();
  }
  printAccounted(
    [],
    [],
    "transfer times, end to end: this engine, the registry, h1's engine and the SSH connection",
  );
  console.log(
    `${BENCH_IMAGE} (${(size / 1e6).toFixed(0)} MB) into h1 (${h.address}) over SSH; registry ${PUSH} / ${PULL}`,
  );
  for (const [what, ms, note] of rows)
    console.log(`${what.padEnd(46)} ${(ms / 1000).toFixed(2).padStart(7)} s   ${note}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
