/**
 * The shared pod watch over a fake `KubeApi` whose lists and watches the test answers and
 * ends. The fake behaves as the API server's list-then-watch does
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes):
 * a list carries a resourceVersion to watch from; the server may end a watch at any time
 * (its timeout, or `410 Gone` when that version is too old), after which the client lists
 * again and events between the two are not replayed — only the new list says what is gone.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/index.js';
import type { KubeApi, PodChange, V1Pod } from '../../providers/kubernetes/api.js';
import { PodWatch } from '../../providers/kubernetes/pod-watch.js';
import { ManualClock } from '../helpers/manual-clock.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

interface FakeWatch {
  from: string | undefined;
  emit(c: PodChange): void;
  end(err?: unknown): void;
  stopped: boolean;
}

/** Lists and watches wait until the test answers / ends them. */
class FakeKube {
  readonly lists: ReturnType<typeof deferred<{ pods: V1Pod[]; version?: string }>>[] = [];
  readonly watches: FakeWatch[] = [];

  readonly api = {
    listPodsVersioned: () => {
      const d = deferred<{ pods: V1Pod[]; version?: string }>();
      this.lists.push(d);
      return d.promise;
    },
    watchPods: (_ns: string, _sel: string, from: string | undefined, onChange: (c: PodChange) => void) => {
      const done = deferred<void>();
      const w: FakeWatch = {
        from,
        emit: onChange,
        end: (err) => (err ? done.reject(err) : done.resolve()),
        stopped: false,
      };
      this.watches.push(w);
      // The client's abort ends the request: the watch's done settles.
      return Promise.resolve({ done: done.promise, stop: () => ((w.stopped = true), done.resolve()) });
    },
  } as unknown as KubeApi;
}

const pod = (name: string, rv: string): V1Pod => ({ metadata: { name, resourceVersion: rv } });

/** Lets pending promise callbacks run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

async function until(what: () => boolean) {
  for (let i = 0; i < 100 && !what(); i++) await settle();
  expect(what()).toBe(true);
}

function started() {
  const kube = new FakeKube();
  const clock = new ManualClock();
  const watch = new PodWatch(kube.api, 'benchyard', 'app.kubernetes.io/managed-by=benchyard', {
    clock,
    logger: silentLogger,
    retryMs: 500,
  });
  return { kube, clock, watch };
}

describe('PodWatch', () => {
  it('lists, then watches from the list version; changes reach the followers of that pod', async () => {
    const { kube, watch } = started();
    const ready = watch.start();
    await until(() => kube.lists.length === 1);
    kube.lists[0]!.resolve({ pods: [pod('a', '1')], version: '10' });
    await ready;
    expect(watch.current('a')?.metadata?.resourceVersion).toBe('1');
    await until(() => kube.watches.length === 1);
    expect(kube.watches[0]!.from).toBe('10');

    const seenA: (string | undefined)[] = [];
    const seenB: (string | undefined)[] = [];
    watch.follow('a', (p) => seenA.push(p?.metadata?.resourceVersion));
    const unfollowB = watch.follow('b', (p) => seenB.push(p?.metadata?.resourceVersion));
    kube.watches[0]!.emit({ type: 'MODIFIED', pod: pod('a', '11') });
    kube.watches[0]!.emit({ type: 'ADDED', pod: pod('b', '12') });
    unfollowB();
    kube.watches[0]!.emit({ type: 'MODIFIED', pod: pod('b', '13') });
    kube.watches[0]!.emit({ type: 'DELETED', pod: pod('a', '14') });
    expect(seenA).toEqual(['11', undefined]);
    expect(seenB).toEqual(['12']);
    expect(watch.current('a')).toBeUndefined();
    expect(watch.current('b')?.metadata?.resourceVersion).toBe('13');
    await watch.stop();
  });

  it('relists when the server ends the watch, and reports a pod missing from the new list as deleted', async () => {
    const { kube, clock, watch } = started();
    const ready = watch.start();
    await until(() => kube.lists.length === 1);
    kube.lists[0]!.resolve({ pods: [pod('a', '1'), pod('b', '2')], version: '10' });
    await ready;
    await until(() => kube.watches.length === 1);
    const changes: string[] = [];
    watch.follow('a', (p) => changes.push(`a:${p?.metadata?.resourceVersion ?? 'gone'}`));
    watch.follow('b', (p) => changes.push(`b:${p?.metadata?.resourceVersion ?? 'gone'}`));

    // `a` is deleted while no watch runs: its DELETED event is never sent.
    clock.advance(1_000);
    kube.watches[0]!.end();
    await until(() => kube.lists.length === 2);
    kube.lists[1]!.resolve({ pods: [pod('b', '5')], version: '20' });
    await until(() => kube.watches.length === 2);
    expect(kube.watches[1]!.from).toBe('20');
    expect(changes).toEqual(['b:5', 'a:gone']);
    expect(watch.current('a')).toBeUndefined();
    await watch.stop();
  });

  it('reports a listed pod deleted even when the relist begins within the same millisecond', async () => {
    // A watch the server closes at once: the next list starts on the same clock reading.
    const { kube, watch } = started();
    const ready = watch.start();
    await until(() => kube.lists.length === 1);
    kube.lists[0]!.resolve({ pods: [pod('a', '1')], version: '10' });
    await ready;
    await until(() => kube.watches.length === 1);
    kube.watches[0]!.end();
    await until(() => kube.lists.length === 2);
    kube.lists[1]!.resolve({ pods: [], version: '20' });
    await until(() => kube.watches.length === 2);
    expect(watch.current('a')).toBeUndefined();
    await watch.stop();
  });

  it('after a watch error (410 Gone) waits its back-off, then relists', async () => {
    const { kube, clock, watch } = started();
    const ready = watch.start();
    await until(() => kube.lists.length === 1);
    kube.lists[0]!.resolve({ pods: [], version: '10' });
    await ready;
    await until(() => kube.watches.length === 1);
    kube.watches[0]!.end(new Error('HTTP 410: too old resource version'));
    await settle();
    await settle();
    expect(kube.lists).toHaveLength(1);
    clock.advance(500);
    await until(() => kube.lists.length === 2);
    // Stopped while that list is in flight: no watch follows it.
    const stopping = watch.stop();
    kube.lists[1]!.resolve({ pods: [], version: '20' });
    await stopping;
    expect(kube.watches).toHaveLength(1);
  });

  it('does not report deleted a pod seen after the list began (created while it was in flight)', async () => {
    const { kube, clock, watch } = started();
    const ready = watch.start();
    await until(() => kube.lists.length === 1);
    kube.lists[0]!.resolve({ pods: [], version: '10' });
    await ready;
    await until(() => kube.watches.length === 1);

    clock.advance(1_000);
    kube.watches[0]!.end();
    await until(() => kube.lists.length === 2);
    // The create's answer arrives while the relist is in flight; its snapshot predates the pod.
    clock.advance(5);
    const gone: string[] = [];
    watch.follow('new', (p) => p || gone.push('new'));
    watch.seen(pod('new', '15'));
    kube.lists[1]!.resolve({ pods: [], version: '14' });
    await until(() => kube.watches.length === 2);
    expect(gone).toEqual([]);
    expect(watch.current('new')?.metadata?.resourceVersion).toBe('15');

    // A later list that still lacks it (begun after it was seen) does report it.
    clock.advance(1_000);
    kube.watches[1]!.end();
    await until(() => kube.lists.length === 3);
    kube.lists[2]!.resolve({ pods: [], version: '30' });
    await until(() => gone.length === 1);
    expect(watch.current('new')).toBeUndefined();
    await watch.stop();
  });

  it('stop() ends the watch and the loop: no list follows', async () => {
    const { kube, watch } = started();
    const ready = watch.start();
    await until(() => kube.lists.length === 1);
    kube.lists[0]!.resolve({ pods: [], version: '10' });
    await ready;
    await until(() => kube.watches.length === 1);
    await watch.stop();
    expect(kube.watches[0]!.stopped).toBe(true);
    await settle();
    await settle();
    expect(kube.lists).toHaveLength(1);
    expect(kube.watches).toHaveLength(1);
  });

  it('start() fails when the first list does', async () => {
    const { kube, watch } = started();
    const ready = watch.start();
    await until(() => kube.lists.length === 1);
    kube.lists[0]!.reject(new Error('HTTP 403: forbidden'));
    await expect(ready).rejects.toThrow(/403/);
  });
});
