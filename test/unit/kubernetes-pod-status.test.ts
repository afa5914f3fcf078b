/**
 * Reading pod statuses, on pods recorded from the test cluster (Kubernetes v1.34.4,
 * containerd 1.6.20) with `kubectl get pod -o json`, unedited: test/fixtures/kubernetes/.
 * Each was made for one state: asks 3 `nvidia.com/gpu` of a node with 2 (unschedulable), an
 * image digest the registry lacks (ErrImagePull, then ImagePullBackOff), `sh -c 'exit 3'`, a
 * shell filling an 8Mi memory limit (OOMKilled), `sleep` past `activeDeadlineSeconds: 3`, a
 * running `sleep`, and that pod after a POST to its `eviction` subresource (DisruptionTarget).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { V1Pod } from '../../providers/kubernetes/api.js';
import {
  criIdOf,
  podFailure,
  startedOf,
  terminatedOf,
  waitingOf,
} from '../../providers/kubernetes/pod-status.js';

const fixture = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../fixtures/kubernetes/pod-${name}.json`, import.meta.url), 'utf8'),
  ) as V1Pod;

const C = 'bench';

describe('waitingOf', () => {
  it("an unschedulable pod waits with the scheduler's message, not hopeless", () => {
    expect(waitingOf(fixture('unschedulable'), C)).toEqual({
      reason:
        'Unschedulable: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu. no new claims to deallocate, preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
      hopeless: false,
      unschedulable: true,
    });
  });

  it('a first pull error may still pass; the back-off is hopeless', () => {
    const first = waitingOf(fixture('err-image-pull'), C);
    expect(first).toMatchObject({ hopeless: false, unschedulable: false });
    expect(first?.reason).toMatch(/^ErrImagePull: rpc error: .*nope@sha256:0{64}: not found$/);
    const backoff = waitingOf(fixture('image-pull-backoff'), C);
    expect(backoff).toMatchObject({ hopeless: true, unschedulable: false });
    expect(backoff?.reason).toMatch(/^ImagePullBackOff: Back-off pulling image/);
  });

  it('a running or ended pod does not wait', () => {
    for (const f of ['running', 'exit-3', 'oom', 'deadline'])
      expect(waitingOf(fixture(f), C)).toBeUndefined();
  });

  it('a container still being created does not wait (the kubelet is working on it)', () => {
    const pod = fixture('err-image-pull');
    pod.status!.containerStatuses![0]!.state = { waiting: { reason: 'ContainerCreating' } };
    expect(waitingOf(pod, C)).toBeUndefined();
  });
});

describe('terminatedOf', () => {
  it('a container exiting 3 by itself', () => {
    expect(terminatedOf(fixture('exit-3'), C)).toEqual({
      exitCode: 3,
      oomKilled: false,
      reason: 'Error',
      startedAt: Date.parse('2026-12-05T09:28:41Z'),
      finishedAt: Date.parse('2026-12-05T09:28:41Z'),
    });
  });

  it('the OOM killer', () => {
    expect(terminatedOf(fixture('oom'), C)).toMatchObject({
      exitCode: 137,
      oomKilled: true,
      reason: 'OOMKilled',
    });
  });

  it('nothing yet for a waiting or running container, nor for another container name', () => {
    expect(terminatedOf(fixture('running'), C)).toBeUndefined();
    expect(terminatedOf(fixture('unschedulable'), C)).toBeUndefined();
    expect(terminatedOf(fixture('exit-3'), 'keeper')).toBeUndefined();
  });
});

describe('podFailure', () => {
  it("the pod's deadline", () => {
    expect(podFailure(fixture('deadline'))).toBe(
      'DeadlineExceeded: Pod was active on the node longer than the specified deadline',
    );
  });

  it('an eviction (DisruptionTarget), while the pod still runs', () => {
    expect(podFailure(fixture('evicted'))).toBe('EvictionByEvictionAPI: Eviction API: evicting');
  });

  it('not when the container ended by itself, nor for a pending or running pod', () => {
    for (const f of ['exit-3', 'oom', 'running', 'unschedulable', 'image-pull-backoff'])
      expect(podFailure(fixture(f)), f).toBeUndefined();
  });

  it('a lost node (phase Unknown)', () => {
    const pod = fixture('running');
    pod.status!.phase = 'Unknown';
    expect(podFailure(pod)).toMatch(/node stopped reporting/);
  });
});

describe('startedOf and criIdOf', () => {
  it('the CRI id without its runtime prefix, once the container started', () => {
    expect(startedOf(fixture('running'), C)).toBe(true);
    expect(startedOf(fixture('exit-3'), C)).toBe(true);
    expect(startedOf(fixture('image-pull-backoff'), C)).toBe(false);
    expect(criIdOf(fixture('running'), C)).toBe(
      '703bef2049464606f5a78fce1262e43bb57e2dab1412115dde6d403a373f478f',
    );
    expect(criIdOf(fixture('oom'), C)).toMatch(/^[0-9a-f]{64}$/);
    expect(criIdOf(fixture('unschedulable'), C)).toBeUndefined();
    expect(criIdOf(fixture('image-pull-backoff'), C)).toBeUndefined();
  });
});
