/**
 * How a holder job says whose it is: its name (`benchyard-<session>`, what `squeue --name`
 * finds) and its comment, which carries the ledger key, session, owner and expiry. A name
 * anyone can give their job; ownership is proved by the comment read back from Slurm and
 * compared with the ledger entry, never by a filter's answer.
 */

export interface HolderIdentity {
  key: string;
  session: string;
  owner: string;
  /** ISO 8601: after this the allocation is fair game for `gc`. */
  expiresAt: string;
}

const PREFIX = 'benchyard:';

/** Slurm job names are free text; benchyard's are this, so `squeue --name` finds a session's. */
export function holderName(session: string): string {
  return `benchyard-${clean(session)}`;
}

export function encodeComment(id: HolderIdentity): string {
  return `${PREFIX}key=${clean(id.key)};session=${clean(id.session)};owner=${clean(id.owner)};expires=${clean(id.expiresAt)}`;
}

/** The identity a comment carries; undefined for anyone else's comment. */
export function decodeComment(comment: string): HolderIdentity | undefined {
  const text = comment.trim();
  if (!text.startsWith(PREFIX)) return undefined;
  const fields = new Map<string, string>();
  for (const pair of text.slice(PREFIX.length).split(';')) {
    const at = pair.indexOf('=');
    if (at > 0) fields.set(pair.slice(0, at), pair.slice(at + 1));
  }
  const key = fields.get('key');
  const session = fields.get('session');
  const owner = fields.get('owner');
  const expiresAt = fields.get('expires');
  if (!key || !session || !owner || !expiresAt) return undefined;
  return { key, session, owner, expiresAt };
}

/** Whether a job's comment proves it is the holder of this ledger entry. */
export function provesOwnership(
  comment: string,
  expected: { key?: string | undefined; session?: string | undefined; owner?: string | undefined },
): boolean {
  const id = decodeComment(comment);
  if (!id) return false;
  if (expected.key !== undefined && id.key !== clean(expected.key)) return false;
  if (expected.session !== undefined && id.session !== clean(expected.session)) return false;
  if (expected.owner !== undefined && id.owner !== clean(expected.owner)) return false;
  return expected.key !== undefined || expected.session !== undefined;
}

/** Comments travel through a shell and Slurm's parsers: only characters that survive both. */
function clean(v: string): string {
  return v.replace(/[^A-Za-z0-9@._:+-]/g, '_') || '-';
}
