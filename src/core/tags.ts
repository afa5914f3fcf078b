/** Tags benchyard puts on what it creates at a cloud provider, so `gc` can find it by tag. */

/** Tag keys put on every cloud resource benchyard creates (EC2 tags, SoftLayer tags). */
export const CLOUD_TAGS = {
  session: 'benchyard:session',
  owner: 'benchyard:owner',
  expiresAt: 'benchyard:expires-at',
  /** The ledger entry the resource belongs to: links a tagged resource back to its record. */
  ledgerKey: 'benchyard:ledger-key',
} as const;
