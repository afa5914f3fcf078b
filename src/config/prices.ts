/**
 * The price table: `providers/prices.yaml` (kept in the repo, dated) plus an optional user
 * file in the same format whose entries replace matching ones. A missing entry means no
 * price is recorded, never a guessed one.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { InputError, type HourlyPrice, type PriceQuery } from '../core/index.js';

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
    let doc: unknown;
    try {
      doc = parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new InputError(`price table '${file}': ${(err as Error).message}`);
    }
    const parsed = table.safeParse(doc);
    if (!parsed.success)
      throw new InputError(
        `price table '${file}': ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
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
