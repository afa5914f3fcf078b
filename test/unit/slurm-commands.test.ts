/**
 * What benchyard sends to Slurm and reads back: argv, the explicit squeue/sinfo formats,
 * `scontrol show … -o` lines (recorded from Debian's Slurm 22.05 of `scripts/services up
 * slurm`), `slurmd -G`, and the holder's comment. Answers come from a cluster benchyard does
 * not control: whatever they hold, parsing never throws and never invents an owner.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  expandBracket,
  expandIds,
  parseAllocatedGres,
  parseConfiguredGres,
  parseGresDevices,
  parseJobDetails,
  parseKeyValues,
  parseSinfoNodes,
  parseSqueue,
  parseSubmitted,
  sbatchArgv,
} from '../../providers/slurm/commands.js';
import { decodeComment, encodeComment, holderName, provesOwnership } from '../../providers/slurm/identity.js';
import { shellWord } from '../../providers/slurm/shell.js';
import { ROOT } from '../helpers/catalog.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/slurm');

// `scontrol show job -d -o 24` of a running --exclusive job asking gpu:fake:1 on node h2.
const RUNNING =
  'JobId=24 JobName=fixture UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901736 Nice=0 Account=(null) QOS=(null) JobState=RUNNING Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 DerivedExitCode=0:0 RunTime=00:00:01 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-05T05:58:05 EligibleTime=2026-12-05T05:58:05 AccrueTime=2026-12-05T05:58:05 StartTime=2026-12-05T05:58:07 EndTime=Unknown Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-05T05:58:07 Scheduler=Main Partition=bench AllocNode:Sid=localhost:19303 ReqNodeList=h2 ExcNodeList=(null) NodeList=h2 BatchHost=h2 NumNodes=1 NumCPUs=2 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=2,mem=2G,node=1,billing=2 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* JOB_GRES=gpu:fake:2   Nodes=h2 CPU_IDs=0-1 Mem=2048 GRES=gpu:fake:2(IDX:0-1) MinCPUsNode=1 MinMemoryCPU=1G MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=NO Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/tmp Comment=benchyard:key=k1;session=s-1;owner=root@vm;expires=2026-12-05T10:00:00.000Z  StdErr=/dev/null StdIn=/dev/null StdOut=/dev/null Power= TresPerNode=gres:gpu:fake:1 ';

describe('scontrol show job -d -o', () => {
  it('reads the node, CPU ids, memory, GRES indices and comment of a running holder', () => {
    expect(parseJobDetails(RUNNING)).toEqual({
      id: '24',
      state: 'RUNNING',
      reason: 'None',
      node: 'h2',
      cpuIds: '0-1',
      memoryMb: 2048,
      gres: [{ name: 'gpu', type: 'fake', count: 2, indices: [0, 1] }],
      comment: 'benchyard:key=k1;session=s-1;owner=root@vm;expires=2026-12-05T10:00:00.000Z',
      name: 'fixture',
      user: 'root',
    });
  });

  it('recorded lines of every state: pending (no node yet), a second GPU job on a node, ended ones', () => {
    const fixture = (f: string) => parseJobDetails(readFileSync(path.join(FIXTURES, f), 'utf8'))!;
    expect(fixture('job-pending.txt')).toMatchObject({ state: 'PENDING', reason: 'Resources', gres: [] });
    expect(fixture('job-pending.txt').node).toBeUndefined();
    expect(fixture('job-running-gres.txt')).toMatchObject({
      state: 'RUNNING',
      node: 'h2',
      cpuIds: '1',
      gres: [{ name: 'gpu', type: 'fake', count: 1, indices: [1] }],
    });
    expect(fixture('job-running-exclusive.txt')).toMatchObject({ node: 'h1', cpuIds: '0-1', memoryMb: 2048 });
    expect(fixture('job-timeout.txt')).toMatchObject({ state: 'TIMEOUT', reason: 'TimeLimit', gres: [] });
    expect(fixture('job-cancelled.txt')).toMatchObject({ state: 'CANCELLED', gres: [] });
    expect(fixture('job-cancelled.txt').comment).toBe('benchyard fixture');
  });

  it('the recorded sinfo -N answer of both nodes allocated', () => {
    // Recorded with %P (partition) where benchyard asks for %o (address): same shape.
    const nodes = parseSinfoNodes(readFileSync(path.join(FIXTURES, 'sinfo-nodes.txt'), 'utf8'));
    expect(nodes.map((n) => [n.name, n.state, n.cpus, n.gres.map((g) => g.count)])).toEqual([
      ['h1', 'allocated', 2, [2]],
      ['h2', 'allocated', 2, [2]],
    ]);
  });

  it('keeps values with spaces whole and every value of a key seen twice', () => {
    const kv = parseKeyValues('JobId=7 Comment=two words here Nodes=a CPU_IDs=0 Nodes=b CPU_IDs=1');
    expect(kv.get('Comment')).toEqual(['two words here']);
    expect(kv.get('Nodes')).toEqual(['a', 'b']);
  });

  it('GRES detail forms: typed, untyped, several, none', () => {
    expect(parseAllocatedGres('gpu:a100:2(IDX:1,3),fpga:1(IDX:0)')).toEqual([
      { name: 'gpu', type: 'a100', count: 2, indices: [1, 3] },
      { name: 'fpga', count: 1, indices: [0] },
    ]);
    expect(parseAllocatedGres('gpu:2(IDX:0-1)')).toEqual([{ name: 'gpu', count: 2, indices: [0, 1] }]);
    expect(parseAllocatedGres('')).toEqual([]);
  });

  it('a line that is not a job is nothing', () => {
    expect(parseJobDetails('slurm_load_jobs error: Invalid job id specified')).toBeUndefined();
  });
});

describe('squeue, sinfo, sbatch and slurmd -G answers', () => {
  it('squeue with the explicit format; a comment holding | stays whole', () => {
    const jobs = parseSqueue(
      '24|benchyard-s-1|root|PENDING|Resources||4294901736|bench|benchyard:key=k1;a|b\nnot a job line\n',
    );
    expect(jobs).toEqual([
      {
        id: '24',
        name: 'benchyard-s-1',
        user: 'root',
        state: 'PENDING',
        reason: 'Resources',
        nodes: '',
        priority: 4294901736,
        partition: 'bench',
        comment: 'benchyard:key=k1;a|b',
      },
    ]);
  });

  it('sinfo -N with the explicit format (recorded) and GRES with sockets', () => {
    const nodes = parseSinfoNodes(
      'h1|10.250.1.2|idle|2|23552|gpu:fake:2|fpga0,fake\nh2|10.250.2.2|allocated|2|23552|gpu:fake:2|fake\n',
    );
    expect(nodes.map((n) => [n.name, n.address, n.state, n.cpus, n.memoryMb, n.features])).toEqual([
      ['h1', '10.250.1.2', 'idle', 2, 23552, ['fpga0', 'fake']],
      ['h2', '10.250.2.2', 'allocated', 2, 23552, ['fake']],
    ]);
    expect(nodes[0]!.gres).toEqual([{ name: 'gpu', type: 'fake', count: 2 }]);
    expect(parseConfiguredGres('gpu:a100:4(S:0-1),gpu:v100:2,fpga:1')).toEqual([
      { name: 'gpu', type: 'a100', count: 4 },
      { name: 'gpu', type: 'v100', count: 2 },
      { name: 'fpga', count: 1 },
    ]);
    expect(parseConfiguredGres('(null)')).toEqual([]);
  });

  it('sbatch --parsable answers a job id, with or without the cluster', () => {
    expect(parseSubmitted('123\n')).toBe('123');
    expect(parseSubmitted('123;cluster\n')).toBe('123');
    expect(parseSubmitted('sbatch: error: bad\n')).toBeUndefined();
  });

  it('slurmd -G: device files by index in the order of the node, not the numbers in their names', () => {
    const files = parseGresDevices(
      'slurmd: Gres Name=gpu Type=fake Count=2 Index=0 ID=7696487 File=/dev/fakegpu[2-3] (null)\n',
    );
    expect([...files.get('gpu')!]).toEqual([
      [0, '/dev/fakegpu2'],
      [1, '/dev/fakegpu3'],
    ]);
    expect(expandBracket('/dev/fpga[00-02]')).toEqual(['/dev/fpga00', '/dev/fpga01', '/dev/fpga02']);
    expect(expandBracket('/dev/nvidia0')).toEqual(['/dev/nvidia0']);
  });

  it('the holder job: one node, never requeued, the identity in name and comment, the limit in minutes', () => {
    const argv = sbatchArgv({
      name: holderName('s-1'),
      comment: 'c',
      partition: 'gpu',
      account: 'perf',
      gres: 'gpu:a100:2',
      exclusive: true,
      timeLimitMs: 90_000,
    });
    expect(argv).toEqual(
      expect.arrayContaining([
        'sbatch',
        '--parsable',
        '--job-name=benchyard-s-1',
        '--comment=c',
        '--partition=gpu',
        '--account=perf',
        '--gres=gpu:a100:2',
        '--exclusive',
        '--nodes=1',
        '--time=2',
        '--no-requeue',
      ]),
    );
    expect(argv.some((a) => a.startsWith('--qos'))).toBe(false);
  });
});

describe('hostile answers', () => {
  it('no parser throws on any text, and id lists stay bounded', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (text) => {
        parseJobDetails(`JobId=${text}`);
        parseSqueue(text);
        parseSinfoNodes(text);
        parseGresDevices(text);
        parseAllocatedGres(text);
        expect(expandIds(text).length).toBeLessThan(50_000);
      }),
    );
    expect(expandIds('0-999999999').length).toBe(4097);
  });

  it('comments round-trip, and only one carrying the key and session proves ownership', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
        fc.stringMatching(/^s-[0-9a-f]{1,12}$/),
        fc.string({ maxLength: 30 }),
        (key, session, owner) => {
          const comment = encodeComment({ key, session, owner, expiresAt: '2026-12-05T10:00:00.000Z' });
          expect(decodeComment(comment)?.key).toBe(key);
          expect(provesOwnership(comment, { key, session, owner })).toBe(true);
          expect(provesOwnership(comment, { key: `${key}x`, session })).toBe(false);
          expect(provesOwnership(comment, { session: `${session}0` })).toBe(false);
          expect(provesOwnership(comment, {})).toBe(false);
        },
      ),
    );
    expect(decodeComment('my own job')).toBeUndefined();
    expect(decodeComment('benchyard:key=a')).toBeUndefined();
  });

  it('a shell word reaches the command unchanged, whatever it holds', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }).filter((s) => !s.includes('\0')),
        (s) => {
          expect(execFileSync('sh', ['-c', `printf %s ${shellWord(s)}`], { encoding: 'utf8' })).toBe(s);
        },
      ),
      { numRuns: 40 },
    );
  });
});
