/**
 * Placement by requirements: a cell runs only on a target that can have what its benchmark
 * `requires` (GPUs of a model or PCI id and a driver range, FPGA cards of a vendor, device
 * nodes). What is not known about a target before a machine is acquired (GPUs whose
 * nvidia-smi output could not be read, a GPU's PCI id) does not skip a cell; the machine's
 * engine refuses the container then, with a clear error.
 */
import {
  plannedRepetitions,
  type AcceleratorInfo,
  type MatrixCell,
  type Requirements,
  type TargetFacts,
} from '../core/index.js';
import type { Plan } from './plan.js';

export interface SkippedCell {
  cell: MatrixCell;
  /** Why the target cannot run it, e.g. `needs 1 GPU matching /H100/; has 1× NVIDIA T4`. */
  reason: string;
}

/** The plan without the cells their target cannot run, and those cells with the reason. */
export function placeByRequirements(
  plan: Plan,
  facts: ReadonlyMap<string, TargetFacts | undefined>,
): { plan: Plan; skipped: SkippedCell[] } {
  const cells: MatrixCell[] = [];
  const skipped: SkippedCell[] = [];
  for (const cell of plan.cells) {
    const reasons = unmetRequirements(cell.requires, facts.get(cell.target.name));
    if (reasons.length) skipped.push({ cell, reason: reasons.join('; ') });
    else cells.push(cell);
  }
  return {
    plan: { ...plan, cells, repetitions: cells.reduce((n, c) => n + plannedRepetitions(c), 0) },
    skipped,
  };
}

/** What the target lacks for the requirements; empty when it has all (or it is not known). */
export function unmetRequirements(req: Requirements, facts: TargetFacts | undefined): string[] {
  if (!facts) return [];
  const reasons: string[] = [];
  if (req.gpu) {
    const { count, driver } = req.gpu;
    const need = count === 'all' ? 1 : count;
    const what = `${need} GPU${need > 1 ? 's' : ''}${wanted(req.gpu)}`;
    if (facts.gpus) {
      const fitting = facts.gpus.filter((g) => gpuFits(req.gpu!, g) !== false);
      const have = fitting.reduce((n, g) => n + g.count, 0);
      if (have < need) reasons.push(`needs ${what}; has ${describe(facts.gpus)}`);
      else if (driver) {
        const outside = fitting.find((g) => g.driver !== undefined && !inDriverRange(g.driver, driver));
        if (outside) reasons.push(`needs NVIDIA driver ${driver}; has ${outside.driver}`);
      }
    }
    if (facts.nvidiaRuntime === false && reasons.length === 0)
      reasons.push(`needs ${what}; its Docker engine has no NVIDIA runtime (nvidia-container-toolkit)`);
  }
  if (req.fpga?.vendor && facts.fpgas) {
    const vendor = req.fpga.vendor;
    if (!facts.fpgas.some((f) => FPGA_VENDOR[vendor].test(f.model)))
      reasons.push(`needs a ${vendor} FPGA; has ${describe(facts.fpgas)}`);
  }
  const missing = [...req.devices, ...(req.fpga?.devices ?? [])]
    .map((d) => d.host)
    .filter((p) => facts.hasDevice?.(p) === false);
  if (missing.length)
    reasons.push(`needs device${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; not there`);
  return reasons;
}

const FPGA_VENDOR = {
  xilinx: /xilinx|amd/i,
  intel: /intel|altera/i,
  amazon: /amazon|xilinx/i,
} as const;

function describe(list: readonly AcceleratorInfo[]): string {
  return list.length
    ? list.map((a) => `${a.count}× ${a.model}${a.pciDeviceId ? ` [${a.pciDeviceId}]` : ''}`).join(', ')
    : 'none';
}

/** ` matching /T4/i or with PCI id 10de:1eb8`: what the requirement selects, for messages. */
function wanted(gpu: NonNullable<Requirements['gpu']>): string {
  const parts = [
    ...(gpu.model ? [`matching /${gpu.model}/i`] : []),
    ...(gpu.pci ? [`with PCI id ${gpu.pci.join(' or ')}`] : []),
  ];
  return parts.length ? ` ${parts.join(' or ')}` : '';
}

/**
 * Whether a GPU is one the requirement selects: its name matches `model` or its PCI id is
 * in `pci` (either is enough, so an old driver's "Graphics Device" is found by its id).
 * Undefined when it cannot be told (`pci` asked, the GPU's id unknown): placement keeps it.
 */
export function gpuFits(
  gpu: NonNullable<Requirements['gpu']>,
  info: { model: string; pciDeviceId?: string },
): boolean | undefined {
  if (!gpu.model && !gpu.pci) return true;
  if (gpu.model && new RegExp(gpu.model, 'i').test(info.model)) return true;
  if (!gpu.pci) return false;
  return info.pciDeviceId === undefined ? undefined : gpu.pci.includes(info.pciDeviceId.toLowerCase());
}

/**
 * Whether a driver version is in a range such as `>=450 <=470` (every comparison must
 * hold). A bound compares only as many parts as it names: `<=470` allows 470.82.01.
 */
export function inDriverRange(version: string, range: string): boolean {
  const have = version.split('.').map(Number);
  for (const [, op = '=', bound] of range.matchAll(/(>=|<=|>|<|=)?\s*(\d+(?:\.\d+)*)/g)) {
    const want = bound!.split('.').map(Number);
    const cmp = compare(have.slice(0, want.length), want);
    const ok =
      op === '>='
        ? cmp >= 0
        : op === '<='
          ? cmp <= 0
          : op === '>'
            ? cmp > 0
            : op === '<'
              ? cmp < 0
              : cmp === 0;
    if (!ok) return false;
  }
  return true;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < b.length; i++) {
    const d = (a[i] ?? 0) - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}
