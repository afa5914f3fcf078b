/** `gc --forget KEY`: closes a ledger entry once its provider provably holds nothing of it. */
import { InfrastructureError, InputError } from '../core/index.js';
import { row, toRef, type GcDeps, type GcRow } from './model.js';
import { RUN_LEDGER_PROVIDER } from './orphan-runs.js';

export async function forget(
  key: string,
  deps: Pick<GcDeps, 'ledger' | 'providers'>,
  signal: AbortSignal,
): Promise<GcRow> {
  const entry = deps.ledger.get(key);
  if (!entry) throw new InputError(`gc --forget: no ledger entry '${key}' in this state folder`);
  const at = (action: string) =>
    row(entry.provider, entry.kind, entry.resourceId ?? entry.key, entry.session, action);
  if (entry.status === 'released' || entry.status === 'failed') return at(`already closed (${entry.status})`);
  if (entry.provider !== RUN_LEDGER_PROVIDER) {
    const provider = deps.providers.get(entry.provider);
    if (!provider?.absent)
      throw new InputError(
        `gc --forget: ${entry.provider} cannot prove that nothing of ${key} exists; run 'benchyard gc' to clean it up`,
      );
    if (!(await provider.absent(toRef(entry), signal)))
      throw new InfrastructureError(
        `gc --forget: ${entry.provider} still holds something of ${key} (or cannot tell); run 'benchyard gc' to destroy it`,
        { key },
      );
  }
  deps.ledger.close(key, 'failed', `forgotten by gc --forget: nothing of it exists at ${entry.provider}`);
  return at('forgotten (provably never created, or gone)');
}
