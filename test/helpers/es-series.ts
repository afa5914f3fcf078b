/** Reads a run's samples back from Elasticsearch and counts each (series, sequence number). */
import type { Client } from '@elastic/elasticsearch';

export interface SeriesCheck {
  total: number;
  /** Series key → sequence numbers seen, sorted, duplicates kept. */
  series: Map<string, number[]>;
}

export async function samplesInEs(es: Client, index: string, runId: string): Promise<SeriesCheck> {
  await es.indices.refresh({ index, expand_wildcards: 'all' } as never);
  const series = new Map<string, number[]>();
  let total = 0;
  let after: unknown[] | undefined;
  for (;;) {
    const res = await es.search<{
      cell?: { id: string };
      repetition: number;
      container?: { id: string };
      metric: { scope: string; name: string; device?: string };
      event: { sequence: number };
    }>({
      index,
      size: 5000,
      query: { term: { 'run.id': runId } },
      sort: [
        { '@timestamp': 'asc' },
        { 'event.sequence': 'asc' },
        { 'metric.name': 'asc' },
        { 'metric.device': 'asc' },
      ],
      ...(after ? { search_after: after } : {}),
    } as never);
    const hits = res.hits.hits;
    for (const h of hits) {
      const s = h._source!;
      const key = [
        s.cell?.id ?? '',
        s.repetition,
        s.container?.id ?? '',
        s.metric.scope,
        s.metric.name,
        s.metric.device ?? '',
      ].join('|');
      series.set(key, [...(series.get(key) ?? []), s.event.sequence]);
      total++;
    }
    if (hits.length < 5000) break;
    after = hits.at(-1)!.sort as unknown[];
  }
  for (const seqs of series.values()) seqs.sort((a, b) => a - b);
  return { total, series };
}

/** True when every series holds 0..n-1 exactly once. */
export function exactlyOnce(check: SeriesCheck, perSeries: number): string[] {
  const problems: string[] = [];
  for (const [key, seqs] of check.series) {
    const expected = Array.from({ length: perSeries }, (_, i) => i);
    if (seqs.length !== perSeries || seqs.some((s, i) => s !== expected[i]))
      problems.push(`${key}: ${seqs.length} documents`);
  }
  return problems;
}
