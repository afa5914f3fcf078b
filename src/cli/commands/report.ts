/** `benchyard report`: one self-contained, offline HTML file with a run's results, comparison and charts. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage, type MetricSample } from '../../core/index.js';
import { buildReportModel, renderReportHtml } from '../../report/index.js';
import type { CliIo } from '../io.js';
import { PACKAGE_ROOT } from '../paths.js';
import { axisOption, compareSelection, openReader, selectRuns } from '../compare-input.js';

export interface ReportCliOptions {
  state: string;
  html: string;
  by?: string;
  baseline?: string;
  run?: string[];
  es?: string;
  /** Count repetitions marked suspect (unhealthy hardware) too. */
  includeSuspect?: boolean;
}

export async function reportCommand(opts: ReportCliOptions, io: CliIo): Promise<void> {
  const by = opts.by !== undefined ? axisOption(opts.by) : undefined;
  const reader = openReader(opts);
  let html: string;
  try {
    const selection = await selectRuns(reader, opts.run, opts.es ?? opts.state);
    const { runs, results, machines } = selection;
    const includeSuspect = opts.includeSuspect ?? false;
    const comparison = by
      ? compareSelection(selection, by, opts.baseline, io.stderr, { includeSuspect })
      : undefined;
    const notes: string[] = [];
    const samples: MetricSample[] = [];
    for (const run of runs) {
      try {
        samples.push(...(await reader.listSamples({ runId: run.id })));
      } catch (err) {
        // Samples that cannot be read (a store down, a data stream gone): the report says so and goes on.
        notes.push(`metric samples of run ${run.id} could not be read: ${errorMessage(err)}`);
      }
    }
    const model = buildReportModel({
      runs,
      results,
      samples,
      machines,
      ...(comparison ? { comparison } : {}),
      generatedAt: new Date().toISOString(),
      notes,
      includeSuspect,
    });
    html = await renderReportHtml(model, { client: path.join(PACKAGE_ROOT, 'dist/web/report.js') });
  } finally {
    await reader.close();
  }
  await writeFile(opts.html, html);
  const bytes = Buffer.byteLength(html);
  io.stderr(`wrote ${path.resolve(opts.html)} (${formatBytes(bytes)})\n`);
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${(n / 1024).toFixed(0)} kB`;
}
