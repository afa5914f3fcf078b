import { describe, expect, it } from 'vitest';
import { mountWarnings, planMounts, sensitiveFolder, type MountFacts } from '../../src/plan/index.js';
import { planText } from '../helpers/catalog.js';

const HOME = '/home/ana';

/** A filesystem where `./data` is a link to /etc and /dev/xblk is a block device by name unknown to Linux. */
const facts: MountFacts = {
  home: HOME,
  realpath: (p) => (p.endsWith('/link-to-etc') ? '/etc' : p),
  isBlockDevice: (p) => (p === '/dev/xblk' ? true : p.startsWith('/dev/sd') ? true : false),
};

describe('sensitiveFolder', () => {
  it.each([
    ['/', /whole filesystem/],
    ['/etc', /\/etc holds the machine's configuration/],
    ['/etc/ssl', /\/etc holds/],
    ['/var/run', /\/var\/run holds/],
    ['/proc/1', /\/proc holds/],
    ['/home', /holds home folders/],
    [HOME, /a home folder/],
    ['/home/bob', /a home folder/],
    ['/root', /a home folder/],
    [`${HOME}/.ssh`, /~\/.ssh holds credentials/],
    [`${HOME}/.aws/x`, /~\/.aws holds credentials/],
    ['/root/.kube', /~\/.kube holds credentials/],
  ])('warns on %s', (folder, why) => {
    expect(sensitiveFolder(folder, HOME)).toMatch(why);
  });

  it.each([`${HOME}/datasets`, '/data/inputs', '/tmp/x', '/var/tmp/in', '/etcetera', '/home2/x/y'])(
    'leaves %s alone',
    (folder) => {
      expect(sensitiveFolder(folder, HOME)).toBeUndefined();
    },
  );
});

describe('plan mounts', () => {
  it('lists inputs, devices and device rules once per entry, and warns on what exposes a machine', async () => {
    const plan = await planText(`name: m
targets: [{ name: here, provider: local }, { name: far, provider: ssh, hosts: [10.0.0.1] }]
benchmarks:
  - benchmark:
      name: disk
      image: alpine
      command: [fio]
      params: { n: { type: integer, default: 1 } }
      requires:
        devices: ['/dev/sdb:/dev/sdb:rw', '/dev/xblk:/dev/x:rwm', '/dev/nvme0n1:/dev/nvme0n1:r', /dev/null]
        deviceCgroupRules: ['b *:* rwm', 'c 195:* rwm']
    params: { n: [1, 2] }
`);
    const mounts = planMounts(plan.cells);
    expect(
      mounts.filter((m) => m.local).map((m) => [m.entry, m.kind, m.host, m.container, m.access]),
    ).toEqual([
      ['disk', 'device', '/dev/sdb', '/dev/sdb', 'rw'],
      ['disk', 'device', '/dev/xblk', '/dev/x', 'rwm'],
      ['disk', 'device', '/dev/nvme0n1', '/dev/nvme0n1', 'r'],
      ['disk', 'device', '/dev/null', '/dev/null', 'rwm'],
      ['disk', 'device rule', 'b *:* rwm', '', 'rwm'],
      ['disk', 'device rule', 'c 195:* rwm', '', 'rwm'],
    ]);
    expect(mountWarnings(mounts, facts)).toEqual([
      "'disk' gets the block device /dev/sdb with write access (rw): the container can overwrite the disk under its machine",
      "'disk' gets the block device /dev/xblk with write access (rwm): the container can overwrite the disk under its machine",
      "'disk' has the device rule 'b *:* rwm': the container may create and write block devices (the disks of its machine)",
    ]);
    // The remote target's /dev cannot be looked at from here: only a block device's name tells.
    expect(
      mountWarnings(
        mounts.filter((m) => !m.local && m.kind === 'device'),
        facts,
      ),
    ).toEqual([
      "'disk' gets the block device /dev/sdb with write access (rw): the container can overwrite the disk under its machine",
    ]);
  });

  it('warns on an inputs folder that is a link to /etc', () => {
    const warnings = mountWarnings(
      [
        {
          entry: 'e',
          kind: 'folder',
          host: '/data/link-to-etc',
          container: '/in',
          access: 'read-only',
          local: true,
        },
      ],
      facts,
    );
    expect(warnings).toEqual([
      "'e' mounts /data/link-to-etc at /in: /etc holds the machine's configuration, secrets or kernel state",
    ]);
  });
});
