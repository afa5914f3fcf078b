/**
 * A machine's benchmark pods as container events, off a real `PodWatch` fed by the test:
 * each pod's steps once and in order, whatever the watch skipped; pods of other machines
 * and roles ignored.
 */
import { describe, expect, it } from 'vitest';
import type { KubeApi, PodChange, V1Pod } from '../../providers/kubernetes/api.js';
import { podEvents } from '../../providers/kubernetes/pod-events.js';
import { PodWatch } from '../../providers/kubernetes/pod-watch.js';
import { silentLogger, type EngineEvent } from '../../src/core/index.js';
import { ManualClock } from '../helpers/manual-clock.js';

const CRI = 'c'.repeat(64);

async function watched() {
  let emit!: (c: PodChange) => void;
  const api = {
    listPodsVersioned: async () => ({ pods: [], version: '1' }),
    watchPods: async (_ns: string, _s: string, _v: string | undefined, on: (c: PodChange) => void) => {
      emit = on;
      return { done: new Promise<void>(() => {}), stop: () => {} };
    },
  } as unknown as KubeApi;
  const clock = new ManualClock();
  const watch = new PodWatch(api, 'benchyard', 'x', { clock, logger: silentLogger });
  await watch.start();
  const events: EngineEvent[] = [];
  const sub = podEvents(
    watch,
    'key1',
    () => clock.now(),
    (e) => events.push(e),
  );
  return { emit: (c: PodChange) => emit(c), events, sub };
}

let rv = 0;
function pod(
  name: string,
  state?: 'running' | { exitCode: number; reason: string },
  key = 'key1',
  role = 'benchmark',
): V1Pod {
  return {
    metadata: {
      name,
      resourceVersion: String(++rv),
      labels: { 'benchyard.io/role': role, 'benchyard.io/key': key },
      annotations: {
        'benchyard.io/labels': JSON.stringify({ 'io.benchyard.run': 'r1', 'io.benchyard.repetition': '2' }),
      },
    },
    spec: { containers: [{ name: 'bench', image: 'reg/x@sha256:1' }] },
    status: {
      phase: 'Running',
      containerStatuses: state
        ? [
            {
              name: 'bench',
              image: 'x',
              imageID: '',
              ready: false,
              restartCount: 0,
              containerID: `containerd://${CRI}`,
              state: state === 'running' ? { running: {} } : { terminated: state },
            },
          ]
        : [],
    },
  };
}

const actions = (events: EngineEvent[]) =>
  events.map((e) => `${e.action}${e.exitCode !== undefined ? `:${e.exitCode}` : ''}`);

describe('podEvents', () => {
  it('create, start, oom, die with the exit code, destroy — once each, labels from the pod', async () => {
    const { emit, events } = await watched();
    emit({ type: 'ADDED', pod: pod('p1') });
    emit({ type: 'MODIFIED', pod: pod('p1', 'running') });
    emit({ type: 'MODIFIED', pod: pod('p1', 'running') });
    emit({ type: 'MODIFIED', pod: pod('p1', { exitCode: 137, reason: 'OOMKilled' }) });
    emit({ type: 'MODIFIED', pod: pod('p1', { exitCode: 137, reason: 'OOMKilled' }) });
    emit({ type: 'DELETED', pod: pod('p1', { exitCode: 137, reason: 'OOMKilled' }) });
    expect(actions(events)).toEqual(['create', 'start', 'oom', 'die:137', 'destroy']);
    expect(events[3]).toMatchObject({
      containerId: CRI,
      name: 'p1',
      image: 'reg/x@sha256:1',
      labels: { 'io.benchyard.run': 'r1', 'io.benchyard.repetition': '2' },
    });
    // Before the kubelet names the container, the pod's name stands for it.
    expect(events[0]!.containerId).toBe('p1');
  });

  it('a short container seen terminated at once still starts before it dies; a pod deleted while running is killed', async () => {
    const { emit, events } = await watched();
    emit({ type: 'ADDED', pod: pod('p2', { exitCode: 0, reason: 'Completed' }) });
    emit({ type: 'ADDED', pod: pod('p3', 'running') });
    emit({ type: 'DELETED', pod: pod('p3', 'running') });
    expect(events.map((e) => `${e.name} ${e.action}`)).toEqual([
      'p2 create',
      'p2 start',
      'p2 die',
      'p3 create',
      'p3 start',
      'p3 kill',
      'p3 destroy',
    ]);
  });

  it("ignores other machines' pods, holders and agents, and nothing after close", async () => {
    const { emit, events, sub } = await watched();
    emit({ type: 'ADDED', pod: pod('other', 'running', 'key2') });
    emit({ type: 'ADDED', pod: pod('holder', 'running', 'key1', 'holder') });
    emit({ type: 'ADDED', pod: pod('agent', 'running', 'key1', 'agent') });
    expect(events).toEqual([]);
    sub.close();
    emit({ type: 'ADDED', pod: pod('late', 'running') });
    expect(events).toEqual([]);
  });
});
