/** Logs to stderr, one line per event, with the resource id as context; control characters escaped. */
import type { Logger } from '../core/index.js';
import { redact } from '../core/index.js';
import { escapeControlKeepLines } from '../report/index.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

export function stderrLogger(
  min: Level,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const at = LEVELS.indexOf(min);
  const log = (level: Level) => (message: string, context?: Record<string, unknown>) => {
    if (LEVELS.indexOf(level) < at) return;
    const ctx = context && Object.keys(context).length > 0 ? ` ${JSON.stringify(context)}` : '';
    // Messages carry container output and user text: no control character reaches the terminal.
    write(`${level === 'info' ? '' : `${level}: `}${escapeControlKeepLines(redact(message + ctx))}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
