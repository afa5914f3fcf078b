/**
 * The offline HTML report's client: reads the model the page embeds
 * (<script type="application/json" id="report-data">) and draws it, pictures first: the
 * summary charts and the groups' hardware, then the comparison, distributions, results,
 * cost, metric charts and runs.
 */
import type { ReportModel } from '../report/html/model.js';
import { compareTable } from './charts.js';
import { el } from './dom.js';
import { energySection } from './energy-section.js';
import { boxPlotSection, hardwareSection, metricsSection, summarySection } from './pictures.js';
import { provisionSection } from './provision-section.js';
import { costSection, headerSection, resultsSection, runsSection } from './report-sections.js';

function main(): void {
  const data = document.getElementById('report-data')?.textContent;
  const root = document.getElementById('report');
  if (!data || !root) throw new Error('report: the page has no #report-data or #report');
  const m = JSON.parse(data) as ReportModel;

  root.append(headerSection(m), summarySection(m.summary), hardwareSection(m.hardware, m.summary.axis));
  if (m.comparison) {
    const c = m.comparison;
    root.append(
      el(
        'section',
        { className: 'comparison' },
        el('h2', { text: `Comparison by ${c.axis} (baseline ${c.baseline})` }),
        compareTable(c),
      ),
    );
  }
  root.append(boxPlotSection(m.boxPlots), resultsSection(m));
  if (m.comparison) root.append(costSection(m.cost, m.comparison.baseline));
  const energy = energySection(m.energy, m.summary.whiskers);
  if (energy) root.append(energy);
  root.append(metricsSection(m.series));
  const provision = provisionSection(m.provision);
  if (provision) root.append(provision);
  root.append(runsSection(m));
}

main();
