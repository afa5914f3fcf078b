/** Named pools of machines that exist already (`benchyard pool`), as providers read them. */

/**
 * A machine of a named pool. `draining`: it takes no new work, what runs on it finishes;
 * `removed`: it left the pool (with `now`, what runs on it is stopped and re-run elsewhere).
 * A member is identified by `host` and `port` within its pool.
 */
export interface PoolMember {
  pool: string;
  /** Address or ~/.ssh/config host alias. */
  host: string;
  /** Overrides the target's `ssh.port`. */
  port?: number;
  /** Overrides the target's `ssh.user`. */
  user?: string;
  /** Overrides the target's `ssh.dockerSocket`. */
  dockerSocket?: string;
  state: 'active' | 'draining' | 'removed';
  /** Removed with `--now`: its running repetitions are stopped at once. */
  now?: boolean;
  addedAt: string;
  updatedAt: string;
}

/** Where the members of named pools are kept; read again whenever a run looks at a pool. */
export interface PoolDirectory {
  /** Every member the pool ever had, removed ones included, oldest first; [] for an unknown pool. */
  members(pool: string): PoolMember[];
}
