/**
 * A benchmark pod as the engine port's container, over a fake `KubeApi` and a real
 * `PodWatch` fed by the test (pod statuses shaped as the kubelet writes them; the real ones
 * are in test/fixtures/kubernetes): start waits for the container and says why it waits,
 * fails at once for what cannot change and with the pod's Warning events; wait fails when
 * the pod is deleted from outside, not when benchyard killed it; state and archive.
 */
import { PassThrough, type Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CoreV1Event, KubeApi, PodChange, V1Pod } from '../../providers/kubernetes/api.js';
import { PodContainer } from '../../providers/kubernetes/pod-container.js';
import { PodWatch } from '../../providers/kubernetes/pod-watch.js';
import { InfrastructureError, silentLogger } from '../../src/core/index.js';
import { ManualClock } from '../helpers/manual-clock.js';

const NAME = 'by-bench-abc-123456';

function fake(events: CoreV1Event[] = []) {
  let emit!: (c: PodChange) => void;
  const deleted: string[] = [];
  const execs: string[][] = [];
  const api = {
    context: 'test',
    server: 'https://127.0.0.1:6443',
    listPodsVersioned: async () => ({ pods: [], version: '1' }),
    watchPods: async (
      _ns: string,
      _sel: string,
      _v: string | undefined,
      onChange: (c: PodChange) => void,
    ) => {
      emit = onChange;
      return { done: new Promise<void>(() => {}), stop: () => {} };
    },
    deletePod: async (_ns: string, name: string) => void deleted.push(name),
    readPod: async () => undefined,
    listEvents: async () => events,
    followLog: async (_ns: string, _pod: string, _c: string, out: Writable) => {
      out.write(Buffer.from('score: 7\n'));
      out.end();
      return { done: Promise.resolve(), stop: () => {} };
    },
    exec: async (_ns: string, _pod: string, _c: string, argv: readonly string[], out: Writable) => {
      execs.push([...argv]);
      if (argv[0] === 'test') return argv[2]!.endsWith('/0.tar') ? 0 : 1;
      out.end(Buffer.from('tar bytes'));
      return 0;
    },
  } as unknown as KubeApi;
  return { api, emit: (c: PodChange) => emit(c), deleted, execs };
}

const pod = (rv: string, status: V1Pod['status'] = {}): V1Pod => ({
  metadata: { name: NAME, resourceVersion: rv },
  status,
});
const waiting = (reason: string, message: string) =>
  pod('2', {
    phase: 'Pending',
    containerStatuses: [
      {
        name: 'bench',
        image: 'i',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason, message } },
      },
    ],
  });
const running = (rv = '3') =>
  pod(rv, {
    phase: 'Running',
    containerStatuses: [
      {
        name: 'bench',
        image: 'i',
        imageID: '',
        ready: true,
        restartCount: 0,
        containerID: `containerd://${'a'.repeat(64)}`,
        state: { running: { startedAt: new Date() } },
      },
    ],
  });
const exited = (code: number, reason = 'Completed') =>
  pod('4', {
    phase: 'Running',
    containerStatuses: [
      {
        name: 'bench',
        image: 'i',
        imageID: '',
        ready: false,
        restartCount: 0,
        containerID: `containerd://${'a'.repeat(64)}`,
        state: {
          terminated: { exitCode: code, reason, startedAt: new Date(1000), finishedAt: new Date(3000) },
        },
      },
    ],
  });

async function container(events: CoreV1Event[] = [], afterExit: string[] = []) {
  const f = fake(events);
  const clock = new ManualClock();
  const progress: string[] = [];
  const watch = new PodWatch(f.api, 'benchyard', 'x', { clock, logger: silentLogger });
  await watch.start();
  const c = new PodContainer(
    {
      api: f.api,
      watch,
      namespace: 'benchyard',
      clock,
      logger: silentLogger,
      progress: (l) => progress.push(l),
      scheduleTimeoutMs: 60_000,
    },
    pod('1', { phase: 'Pending' }),
    afterExit,
  );
  return { ...f, clock, progress, c };
}

const sinks = () => {
  const out: string[] = [];
  return { out, sinks: { stdout: (b: Buffer) => out.push(b.toString()), stderr: () => {} } };
};

describe('PodContainer', () => {
  it('says why it waits, then follows the log once the container runs; its id becomes the CRI container id', async () => {
    const { c, emit, progress } = await container();
    const { out, sinks: s } = sinks();
    const started = c.start(s);
    emit({ type: 'MODIFIED', pod: waiting('ErrImagePull', 'failed to pull: not found') });
    emit({ type: 'MODIFIED', pod: running() });
    await started;
    expect(progress).toEqual([`kubernetes: pod ${NAME} waits: ErrImagePull: failed to pull: not found`]);
    expect(out.join('')).toBe('score: 7\n');
    expect(c.id).toBe('a'.repeat(64));
    emit({ type: 'MODIFIED', pod: exited(3) });
    await c.wait();
    expect(await c.state()).toMatchObject({ exitCode: 3, oomKilled: false });
  });

  it("an image that cannot be pulled fails at once, with the pod's Warning events", async () => {
    const { c, emit } = await container([
      {
        metadata: {},
        involvedObject: {},
        type: 'Warning',
        reason: 'Failed',
        message: 'Error: ImagePullBackOff',
      },
      {
        metadata: {},
        involvedObject: {},
        type: 'Normal',
        reason: 'BackOff',
        message: 'Back-off pulling image',
      },
    ]);
    const started = c.start(sinks().sinks);
    emit({ type: 'MODIFIED', pod: waiting('ImagePullBackOff', 'Back-off pulling image "x"') });
    await expect(started).rejects.toThrow(
      /cannot start: ImagePullBackOff: Back-off pulling image "x"; events: Failed: Error: ImagePullBackOff/,
    );
    await expect(started).rejects.toBeInstanceOf(InfrastructureError);
  });

  it("a pod that never gets a node fails after the schedule timeout with the scheduler's message", async () => {
    const { c, emit, clock } = await container();
    const started = c.start(sinks().sinks);
    started.catch(() => undefined);
    emit({
      type: 'MODIFIED',
      pod: pod('2', {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/1 nodes are available: 1 Insufficient nvidia.com/gpu.',
          },
        ],
      }),
    });
    await clock.advance(60_000);
    await expect(started).rejects.toThrow(
      /did not start within 60 s: Unschedulable: 0\/1 nodes are available: 1 Insufficient nvidia\.com\/gpu\./,
    );
  });

  it('deleted from outside: wait fails (INFRA); killed by benchyard: wait ends', async () => {
    const a = await container();
    const s = a.c.start(sinks().sinks);
    a.emit({ type: 'MODIFIED', pod: running() });
    await s;
    const waited = a.c.wait();
    a.emit({ type: 'DELETED', pod: running('5') });
    await expect(waited).rejects.toThrow(/was deleted from outside benchyard/);

    const b = await container();
    const s2 = b.c.start(sinks().sinks);
    b.emit({ type: 'MODIFIED', pod: running() });
    await s2;
    const waited2 = b.c.wait();
    await b.c.kill();
    expect(b.deleted).toEqual([NAME]);
    b.emit({ type: 'DELETED', pod: running('5') });
    await expect(waited2).resolves.toBeUndefined();
  });

  it('archive copies a kept file out of the keeper container; an unkept or missing path is absent', async () => {
    const { c, emit, execs } = await container([], ['/tmp/out.json', '/tmp/missing']);
    emit({ type: 'MODIFIED', pod: exited(0) });
    const tar = await c.archive('/tmp/out.json');
    const chunks: Buffer[] = [];
    for await (const chunk of tar as PassThrough) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('tar bytes');
    expect(execs).toContainEqual(['cat', '/.benchyard-keep/0.tar']);
    expect(await c.archive('/tmp/missing')).toBeUndefined();
    expect(await c.archive('/etc/passwd')).toBeUndefined();
    // The kubelet's times are whole seconds; nothing was observed running here.
    expect(await c.state()).toMatchObject({ exitCode: 0, startedAt: 1000, finishedAt: 3000 });
  });
});
