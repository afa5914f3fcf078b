/** `doctor` (src/doctor) with fake providers: which targets, what each gets, release, the verdict. */
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import {
  InfrastructureError,
  InputError,
  MachineBusyError,
  silentLogger,
  type Engine,
  type Machine,
  type Provider,
  type TargetSpec,
} from '../../src/core/index.js';
import {
  chooseTargets,
  doctorFailure,
  examine,
  THIS_MACHINE,
  type DoctorTarget,
} from '../../src/doctor/index.js';

const target = (name: string, provider: string): DoctorTarget => ({
  spec: { name, provider, options: {} } as TargetSpec,
  needed: [],
});

function provider(name: string, over: Partial<Provider> = {}): Provider & { released: string[] } {
  const released: string[] = [];
  return {
    name,
    capabilities: { elastic: false, spot: false, selfTerminate: false },
    acquire: () => Promise.reject(new Error('unreachable')),
    release: async (m) => void released.push(m.id),
    ...over,
    released,
  };
}

const deps = (providers: Provider[]) => ({
  providers: new Map(providers.map((p) => [p.name, p])),
  controller: {} as Docker,
  logger: silentLogger,
  signal: new AbortController().signal,
});

describe('chooseTargets', () => {
  const all = [target('a', 'local'), target('b', 'ssh')];

  it('no --target: every target; names: those, in the matrix order', () => {
    expect(chooseTargets(all, undefined)).toEqual(all);
    expect(chooseTargets(all, ['b'])).toEqual([all[1]]);
  });

  it('a name the matrix lacks is an InputError listing the targets', () => {
    expect(() => chooseTargets(all, ['b', 'c'])).toThrow(
      new InputError('--target: no target c in the matrix (targets: a, b)'),
    );
    expect(() => chooseTargets([THIS_MACHINE], ['gpu'])).toThrow(/targets: local\)/);
  });
});

describe('examine', () => {
  it('a cloud target is judged by its type, nothing acquired', async () => {
    let acquired = false;
    const aws = provider('aws', {
      capabilities: { elastic: true, spot: true, selfTerminate: true },
      describe: async () => ({ gpus: [{ model: 'NVIDIA T4', count: 1 }] }),
      acquire: () => ((acquired = true), Promise.reject(new Error('no'))),
    });
    const [report] = await examine([target('big', 'aws')], deps([aws]));
    expect(acquired).toBe(false);
    expect(report).toMatchObject({ target: 'big', machine: 'aws (not provisioned)' });
    expect(report!.checks.slice(0, 2)).toEqual([
      { check: 'machine', status: 'skip', detail: expect.stringMatching(/doctor spends no money/) },
      { check: 'aws API', status: 'ok', detail: 'GPUs: 1× NVIDIA T4' },
    ]);
  });

  it('a cloud API that fails is a failed check, not a crash', async () => {
    const aws = provider('aws', {
      capabilities: { elastic: true, spot: false, selfTerminate: true },
      describe: async () => Promise.reject(new Error('AuthFailure')),
    });
    const reports = await examine([target('big', 'aws')], deps([aws]));
    expect(reports[0]!.checks).toEqual([{ check: 'aws API', status: 'fail', detail: 'AuthFailure' }]);
    expect(doctorFailure(reports)).toEqual(
      new InfrastructureError('doctor: 1 checks failed (aws (not provisioned): aws API)', { failed: 1 }),
    );
  });

  it('each machine of a target: one held by another controller is skipped, one unreachable fails, one held is released after its checks', async () => {
    const holder = { session: 's-x', owner: 'bob@ci', host: 'ci', pid: 1, since: 'then', expiresAt: 'soon' };
    const machine = { id: 'lab-3', engine: { kind: 'slurm' } as Engine } as Machine;
    const answers = [
      () => Promise.reject(new MachineBusyError([{ machine: 'lab-1', holder }])),
      () => Promise.reject(new Error('connect ECONNREFUSED')),
      () => Promise.resolve(machine),
    ];
    const ssh = provider('ssh', {
      capacity: () => ({ min: 3, max: 3 }),
      acquire: (_spec, _signal, opts) => {
        expect(opts).toEqual({ wait: false });
        return answers.shift()!();
      },
    });
    const reports = await examine([target('lab', 'ssh')], deps([ssh]));
    expect(reports.map((r) => [r.machine, r.checks.map((c) => `${c.check} ${c.status}`)])).toEqual([
      ['ssh machine 1 of 3', ['lease skip']],
      ['ssh machine 2 of 3', ['reach fail']],
      ['lab-3', ['probe fail']],
    ]);
    expect(ssh.released).toEqual(['lab-3']);
    expect(doctorFailure(reports)?.message).toBe(
      'doctor: 2 checks failed (ssh machine 2 of 3: reach; lab-3: probe)',
    );
  });

  it('all checks passed or skipped: no failure', () => {
    expect(
      doctorFailure([{ target: 't', machine: 'm', checks: [{ check: 'c', status: 'skip', detail: '' }] }]),
    ).toBeUndefined();
  });
});
