/** Label keys put on every container benchyard creates, so leftovers can be found and swept. */
export const LABELS = {
  managed: 'io.benchyard.managed',
  /** The controller session that created it (BENCHYARD_SESSION, or one per process). */
  session: 'io.benchyard.session',
  run: 'io.benchyard.run',
  cell: 'io.benchyard.cell',
  repetition: 'io.benchyard.repetition',
  benchmark: 'io.benchyard.benchmark',
  expiresAt: 'io.benchyard.expires-at',
} as const;
