/**
 * Kubernetes through the CLI, as a user runs it, against the real one-node cluster of
 * `scripts/services up k8s`: one matrix over `local` and `kubernetes` targets whose pods
 * each get exactly one fake GPU, with the agent pod's metrics and the results in SQLite and
 * Elasticsearch, and what no node has skipped with the reason; `doctor`, whose probe pod
 * pulls from the matrix's registry; then `gc` after the controller was killed: its pods
 * deleted, a look-alike pod left alone.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { cli, startCli, until } from '../helpers/cli.js';
import { K8S_NAMESPACE, kubectl, podsWithLabel, requireK8s, type DevK8s } from '../helpers/k8s.js';
import { ES_URL, esClient, waitForCount } from '../helpers/services.js';

let k8s: DevK8s;
const work = mkdtempSync(path.join(os.tmpdir(), 'by-e2e-k8s-'));

beforeAll(async () => {
  k8s = await requireK8s();
});

const env = () => ({ KUBECONFIG: k8s.kubeconfig });

function k8sTarget(extra = ''): string {
  return `  - name: cluster
    provider: kubernetes
    context: ${k8s.context}
    namespace: ${K8S_NAMESPACE}
    nodeSelector: { benchyard.io/test-node: 'true' }
    cpu: 500m
    memory: 256Mi
    scheduleTimeout: 60s
${extra}`;
}

/** Prints the fake GPUs it sees and how many, then works for a second (so the agent samples it). */
const gpuBenchmark = (name: string) => `
    benchmark:
      name: ${name}
      image: benchyard/bench-tools:1
      command: [sh, -c, 'd=$(ls /dev | grep -c k8s-fakegpu); echo "gpus: $d"; echo "visible: $NVIDIA_VISIBLE_DEVICES"; sleep 1; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 1; echo "seconds: 1"']
      scores:
        - { name: gpus, unit: count, direction: higher, from: stdout, regex: 'gpus: ([0-9]+)' }
        - { name: seconds, unit: s, direction: lower, from: stdout, regex: 'seconds: ([0-9.]+)' }`;

interface RunJson {
  run: { id: string; status: string };
  results: {
    target: string;
    provider: string;
    status: string;
    scores: { name: string; value: number }[];
    metrics: { samples: number };
    imageDigest: string;
    artifacts: unknown[];
  }[];
  skipped: { entry: string; target: string; reason: string }[];
}

describe('kubernetes targets through the CLI', () => {
  it(
    'local and kubernetes targets in one matrix: a pod per repetition with its one GPU, agent metrics, SQLite and Elasticsearch',
    { timeout: 400_000 },
    async () => {
      const dir = mkdtempSync(path.join(work, 'mixed-'));
      const file = path.join(dir, 'matrix.yaml');
      writeFileSync(
        file,
        `name: k8s-mixed
repetitions: 2
metrics: { interval: 250ms }
images: { registry: '127.0.0.1:5000' }
targets:
  - name: here
    provider: local
${k8sTarget()}
benchmarks:
  - name: gpu
    targets: [cluster]
    requires: { gpu: 1 }${gpuBenchmark('gpu')}
  - name: three-gpus
    targets: [cluster]
    requires: { gpu: 3 }${gpuBenchmark('gpu3')}
  - name: file-score
    targets: [cluster]
    benchmark:
      name: file-score
      image: benchyard/bench-tools:1
      command: [sh, -c, 'echo "value: 3" > /tmp/score.txt']
      artifacts: [/tmp/score.txt]
      scores: [{ name: value, unit: count, direction: higher, from: /tmp/score.txt, regex: 'value: ([0-9]+)' }]
  - name: plain
    benchmark:
      name: plain
      image: benchyard/bench-tools:1
      command: [sh, -c, 'echo "seconds: 0.5"']
      network: none
      scores: [{ name: seconds, unit: s, direction: lower, from: stdout, regex: 'seconds: ([0-9.]+)' }]
store:
  elasticsearch: { url: ${ES_URL} }
`,
      );
      const state = path.join(dir, 'state');
      const session = `s-e2e-k8s-${randomBytes(4).toString('hex')}`;
      const res = await cli(['run', file, '--json', '--state', state], {
        cwd: dir,
        env: { ...env(), BENCHYARD_SESSION: session },
      });
      expect(res.code, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout) as RunJson;
      expect(out.run.status).toBe('passed');
      expect(out.skipped).toEqual([
        expect.objectContaining({
          entry: 'three-gpus',
          target: 'cluster',
          reason: expect.stringMatching(/needs 3 GPUs; has 2× Fake/),
        }),
      ]);
      const k8sResults = out.results.filter((r) => r.target === 'cluster');
      // gpu, file-score and plain ×2 on the cluster, plain ×2 here.
      expect(k8sResults).toHaveLength(6);
      expect(out.results.filter((r) => r.target === 'here')).toHaveLength(2);
      for (const r of k8sResults) {
        expect(r.status).toBe('passed');
        expect(r.provider).toBe('kubernetes');
        expect(r.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      }
      const gpuRuns = k8sResults.filter((r) => r.scores.some((s) => s.name === 'gpus'));
      expect(gpuRuns.map((r) => r.scores.find((s) => s.name === 'gpus')!.value)).toEqual([1, 1]);
      // The agent pod on the node sampled the benchmark pods' cgroups.
      expect(
        gpuRuns.every((r) => r.metrics.samples > 0),
        JSON.stringify(gpuRuns.map((r) => r.metrics)),
      ).toBe(true);

      // The score file and the artifact were copied out of the pod before it was deleted.
      const fileRuns = k8sResults.filter((r) => r.scores.some((s) => s.name === 'value'));
      expect(fileRuns.map((r) => r.scores.find((s) => s.name === 'value')!.value)).toEqual([3, 3]);
      expect(fileRuns.map((r) => r.artifacts.length)).toEqual([1, 1]);
      const stored = JSON.parse(
        (await cli(['results', '--json', '--state', state], { cwd: dir })).stdout,
      ) as RunJson;
      expect(stored.results).toHaveLength(8);
      // The pods' lives reached the event bus and the store as containers' do on Docker.
      const store = new SqliteStore(state);
      try {
        const events = (await store.listEvents({ runId: out.run.id })).filter(
          (e) => e.host === 'benchyard-k8s-node',
        );
        expect(events.map((e) => e.action)).toEqual(
          expect.arrayContaining(['create', 'start', 'die', 'destroy']),
        );
        expect(events.filter((e) => e.action === 'die').every((e) => e.exitCode === 0)).toBe(true);
      } finally {
        await store.close();
      }
      const es = esClient();
      expect(await waitForCount(es, 'benchyard-results', { term: { 'run.id': out.run.id } }, 8)).toBe(8);
      // The agent's container samples, stamped with the node, reached Elasticsearch.
      await until(async () => {
        await es.indices.refresh({ index: 'metrics-benchyard.container-*' });
        const found = await es.count({
          index: 'metrics-benchyard.container-*',
          query: {
            bool: {
              filter: [{ term: { 'run.id': out.run.id } }, { term: { 'host.name': 'benchyard-k8s-node' } }],
            },
          },
        });
        return found.count > 0;
      }, 60_000);
      // Nothing of the run is left in the cluster.
      expect(await podsWithLabel(K8S_NAMESPACE, `benchyard.io/session=${session}`)).toEqual([]);
    },
  );

  it(
    "doctor: the cluster's checks, and whether its node pulls from the matrix's registry",
    { timeout: 240_000 },
    async () => {
      const dir = mkdtempSync(path.join(work, 'doctor-'));
      const matrix = (pull: string) => {
        const file = path.join(dir, `matrix-${pull.replace(/\W/g, '')}.yaml`);
        writeFileSync(
          file,
          `name: k8s-doctor
images: { registry: '127.0.0.1:5000' }
targets:
${k8sTarget(`    registry: '${pull}'\n`)}
benchmarks:
  - benchmark: { name: one, image: benchyard/bench-tools:1, command: ['true'] }
`,
        );
        return file;
      };
      const state = path.join(dir, 'state');
      /** `benchyard doctor --json` with the nodes pulling at `pull`: its exit code and the target's checks. */
      const doctor = async (pull: string) => {
        const r = await cli(['doctor', matrix(pull), '--state', state, '--json'], { cwd: dir, env: env() });
        const reports = JSON.parse(r.stdout) as {
          checks: { check: string; status: string; detail: string }[];
        }[];
        return { ...r, checks: reports[0]!.checks };
      };
      const good = await doctor('127.0.0.1:5000');
      expect(good.code, good.stderr + good.stdout).toBe(0);
      expect(good.checks.map((c) => `${c.check}: ${c.status}`)).toEqual(
        expect.arrayContaining([
          'kubernetes context: ok',
          'nodes: ok',
          `RBAC in ${K8S_NAMESPACE}: ok`,
          'registry 127.0.0.1:5000: ok',
        ]),
      );
      expect(good.checks.find((c) => c.check.startsWith('registry'))!.detail).toMatch(
        /^node benchyard-k8s-node pulled 127\.0\.0\.1:5000\/benchyard\/agent@sha256:[0-9a-f]{64} in /,
      );
      // The machines are told to pull from an address where no registry answers.
      const bad = await doctor('127.0.0.1:5999');
      expect(bad.code, bad.stderr + bad.stdout).toBe(3);
      const registry = bad.checks.find((c) => c.check.startsWith('registry'));
      expect(registry).toMatchObject({ check: 'registry 127.0.0.1:5999', status: 'fail' });
      expect(registry!.detail).toMatch(
        /cannot pull 127\.0\.0\.1:5999\/benchyard\/agent@sha256:[0-9a-f]{64}: /,
      );
      expect(bad.stderr).toMatch(/registry 127\.0\.0\.1:5999/);
      expect(await podsWithLabel(K8S_NAMESPACE, 'benchyard.io/role=probe')).toEqual([]);
    },
  );

  it(
    'gc after the controller was killed deletes its pods and leaves a look-alike pod alone',
    { timeout: 300_000 },
    async () => {
      const dir = mkdtempSync(path.join(work, 'gc-'));
      const file = path.join(dir, 'matrix.yaml');
      writeFileSync(
        file,
        `name: k8s-gc
repetitions: 1
images: { registry: '127.0.0.1:5000' }
targets:
${k8sTarget()}
benchmarks:
  - benchmark: { name: long, image: benchyard/bench-tools:1, command: [sleep, '300'] }
`,
      );
      const state = path.join(dir, 'state');
      const lookalike = `lookalike-${randomBytes(3).toString('hex')}`;
      try {
        const session = `s-e2e-k8s-gc-${randomBytes(4).toString('hex')}`;
        const run = startCli(['run', file, '--state', state], dir, { ...env(), BENCHYARD_SESSION: session });
        const mine = `benchyard.io/session=${session}`;
        await until(
          async () =>
            (await podsWithLabel(K8S_NAMESPACE, `${mine},benchyard.io/role=benchmark`)).some(
              (p) => p.status.phase === 'Running',
            ),
          240_000,
          'the benchmark pod running',
        );
        // A pod with benchyard's labels and an owner annotation, made by someone else (kubectl).
        // Made once the benchmark pod runs: the scheduler would keep an exclusive benchmark pod
        // off a node where a pod labelled as a benchyard benchmark is.
        await kubectl(['apply', '-f', '-'], {
          input: JSON.stringify({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              name: lookalike,
              namespace: K8S_NAMESPACE,
              labels: { 'app.kubernetes.io/managed-by': 'benchyard', 'benchyard.io/role': 'benchmark' },
              annotations: {
                'benchyard.io/owner': JSON.stringify({
                  key: 'feedfacecafe',
                  session: 'other',
                  owner: 'x',
                  expiresAt: '2000-01-01T00:00:00Z',
                }),
              },
            },
            spec: {
              terminationGracePeriodSeconds: 0,
              containers: [
                { name: 'c', image: 'registry.k8s.io/pause:3.10.1', imagePullPolicy: 'IfNotPresent' },
              ],
            },
          }),
        });
        run.child.kill('SIGKILL');
        await run.exited;
        // What the dead controller left: its holder, agent and benchmark pods.
        expect(
          (await podsWithLabel(K8S_NAMESPACE, mine))
            .map((p) => p.metadata.labels?.['benchyard.io/role'])
            .sort(),
        ).toEqual(['agent', 'benchmark', 'holder']);
        const gc = await cli(['gc', '--state', state], { cwd: dir, env: env() });
        expect(gc.code, gc.stderr + gc.stdout).toBe(0);
        expect(await podsWithLabel(K8S_NAMESPACE, mine)).toEqual([]);
        const left = await podsWithLabel(K8S_NAMESPACE, 'app.kubernetes.io/managed-by=benchyard');
        expect(left.map((p) => p.metadata.name)).toContain(lookalike);
      } finally {
        await kubectl(['delete', 'pod', '-n', K8S_NAMESPACE, lookalike, '--grace-period=0', '--force']).catch(
          () => undefined,
        );
      }
    },
  );
});
