/**
 * The price table: `providers/prices.yaml` (kept in the repo, dated) plus an optional user
 * file in the same format whose entries replace matching ones. A missing entry means no
 * price is recorded, never a guessed one.
 */
import { z } from 'zod';
import { ConfigError, type HourlyPrice, type PriceQuery } from '../core/index.js';
import { sortDiagnostics, zodDiagnostics } from './validate.js';
import { YamlSource } from './yaml-source.js';

const table = z.strictObject({
  asOf: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD'),
  source: z.string().min(1),
  prices: z.array(
    z.strictObject({
      provider: z.string().min(1),
      instanceType: z.string().min(1),
      region: z.string().min(1).optional().describe('Omitted: any region'),
      onDemand: z.number().nonnegative().optional(),
      spot: z.number().nonnegative().optional(),
    }),
  ),
});

type Entry = z.output<typeof table>['prices'][number] & { asOf: string; source: string };

export async function loadPriceTable(
  files: readonly string[],
): Promise<(q: PriceQuery) => HourlyPrice | undefined> {
  const entries: Entry[] = [];
  for (const file of files) {
    // Read like a matrix: a regular file, bounded, every problem located.
    const source = await YamlSource.load(file);
    const parsed = table.safeParse(source.value());
    if (!parsed.success)
      throw new ConfigError(sortDiagnostics(zodDiagnostics(source, parsed.error, source.value())));
    // Later files first, so their entries win.
    entries.unshift(
      ...parsed.data.prices.map((p) => ({ ...p, asOf: parsed.data.asOf, source: parsed.data.source })),
    );
  }
  return (q) => {
    const match = (e: Entry) =>
      e.provider === q.provider &&
      e.instanceType === q.instanceType &&
      (e.region === undefined || e.region === q.region);
    const e = entries.find((x) => match(x) && x.region !== undefined) ?? entries.find(match);
    const usd = q.spot ? e?.spot : e?.onDemand;
    return e && usd !== undefined ? { usd, asOf: e.asOf, source: e.source } : undefined;
  };
}
