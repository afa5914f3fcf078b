/** What a command may touch of the process: output streams, environment, the root signal. */
import type { Logger } from '../core/index.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when progress bars may be drawn (a TTY, and not CI). */
  interactive: boolean;
  /** Width tables are fitted to (report/fit.ts `terminalWidth`); `undefined`: no limit. */
  columns?: number;
  logger: Logger;
  signal: AbortSignal;
}
