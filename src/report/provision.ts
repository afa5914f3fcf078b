/**
 * Machines' provisioning timelines as `results --provision` and the HTML report show them:
 * per machine, the ms from the request to each step it reached (`MachineRecord.provision`),
 * the steps in their order, and the terminal table.
 */
import { PROVISION_STEPS, type MachineRecord, type ProvisionStep } from '../core/index.js';
import { dataTable, machineLabel } from './tables.js';

/** What a report shows of the run's timelines: only the steps some machine reached. */
export interface ProvisionTimeline {
  /** In their order, with their column headings. */
  steps: { step: ProvisionStep; title: string }[];
  machines: {
    runId: string;
    machineId: string;
    /** `target/host`, as the other tables name machines. */
    label: string;
    instanceType: string;
    /** ms since the request, per step reached. */
    at: Partial<Record<ProvisionStep, number>>;
  }[];
  /** The latest step of any machine (ms): the scale bars are drawn to. */
  maxMs: number;
}

/** Column headings of the steps. */
export const STEP_TITLES: Readonly<Record<ProvisionStep, string>> = {
  requested: 'requested',
  created: 'created',
  running: 'running',
  ssh: 'ssh',
  docker: 'docker',
  images: 'images',
  agent: 'agent',
  firstRepetition: 'first rep',
};

/** The machines that recorded a timeline, in the order given; none: undefined. */
export function provisionTimeline(machines: readonly MachineRecord[]): ProvisionTimeline | undefined {
  const timed = machines.filter((m) => m.provision && Object.keys(m.provision).length > 0);
  if (timed.length === 0) return undefined;
  const steps = PROVISION_STEPS.filter((s) => timed.some((m) => m.provision![s] !== undefined)).map(
    (step) => ({ step, title: STEP_TITLES[step] }),
  );
  const rows = timed.map((m) => ({
    runId: m.runId,
    machineId: m.machineId,
    label: machineLabel(m.target, m.hostname),
    instanceType: m.instanceType,
    at: { ...m.provision },
  }));
  const maxMs = Math.max(0, ...rows.flatMap((r) => Object.values(r.at)));
  return { steps, machines: rows, maxMs };
}

/** Seconds, to the ms under 10 s: a local step takes milliseconds, a cloud's minutes. */
export function formatSince(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms < 10_000 ? (ms / 1000).toFixed(3) : (ms / 1000).toFixed(1);
}

/** One row per machine, a column per step: seconds since the request (`-`: not reached). */
export function provisionTable(t: ProvisionTimeline, width?: number): string {
  const multiRun = new Set(t.machines.map((m) => m.runId)).size > 1;
  const steps = t.steps.filter((s) => s.step !== 'requested');
  return dataTable(
    [...(multiRun ? ['run'] : []), 'machine', 'type', ...steps.map((s) => `${s.title} (s)`)],
    t.machines.map((m) => [
      ...(multiRun ? [m.runId] : []),
      m.label,
      machineLabel('', m.instanceType),
      ...steps.map((s) => formatSince(m.at[s.step])),
    ]),
    width,
  );
}
