/** `benchyard compare`: groups stored results along one axis and compares them with a baseline. */
import { writeFile } from 'node:fs/promises';
import { InputError } from '../../core/index.js';
import { COMPARE_FORMATS, compareJunit, renderComparison, type CompareFormat } from '../../report/index.js';
import { enforceGate, parsePercent } from '../gate.js';
import type { CliIo } from '../io.js';
import { axisOption, compareSelection, openReader, selectRuns } from '../compare-input.js';

export interface CompareCliOptions {
  state: string;
  by: string;
  baseline?: string;
  run?: string[];
  format: string;
  junit?: string;
  maxRegression?: string;
  es?: string;
  /** The table at full width, whatever the terminal's. */
  wide?: boolean;
  /** Also compare the machines' provisioning times (`provision.*`). */
  provision?: boolean;
  /** Count repetitions marked suspect (unhealthy hardware) too. */
  includeSuspect?: boolean;
}

export async function compareCommand(opts: CompareCliOptions, io: CliIo): Promise<void> {
  const by = axisOption(opts.by);
  if (!COMPARE_FORMATS.includes(opts.format as CompareFormat))
    throw new InputError(`--format '${opts.format}': expected one of ${COMPARE_FORMATS.join(', ')}`);
  const reader = openReader(opts);
  try {
    const selection = await selectRuns(reader, opts.run, opts.es ?? opts.state);
    const comparison = compareSelection(selection, by, opts.baseline, io.stderr, {
      provision: opts.provision ?? false,
      includeSuspect: opts.includeSuspect ?? false,
    });
    io.stdout(
      renderComparison(comparison, opts.format as CompareFormat, {
        width: opts.wide ? undefined : io.columns,
      }),
    );
    const maxPct = opts.maxRegression !== undefined ? parsePercent(opts.maxRegression) : undefined;
    if (opts.junit)
      await writeFile(opts.junit, compareJunit(comparison, maxPct ?? 0, new Date().toISOString()));
    if (maxPct !== undefined) enforceGate(comparison, maxPct, io.stderr);
  } finally {
    await reader.close();
  }
}
