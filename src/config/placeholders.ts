/** `{{param}}` placeholders in a benchmark's argv. */
export const PLACEHOLDER = /\{\{\s*([a-z][a-z0-9_]*)\s*\}\}/g;

/** Replaces `{{param}}` in each argv element; the result is never passed through a shell. */
export function substitute(command: readonly string[], params: Readonly<Record<string, unknown>>): string[] {
  return command.map((arg) => arg.replace(PLACEHOLDER, (_, name: string) => String(params[name])));
}
