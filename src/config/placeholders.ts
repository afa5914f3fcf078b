/** `{{param}}` placeholders in a benchmark's argv. */
export const PLACEHOLDER = /\{\{\s*([a-z][a-z0-9_]*)\s*\}\}/g;

/** Replaces `{{param}}` in each argv element; the result is never passed through a shell. */
export function substitute(command: readonly string[], params: Readonly<Record<string, unknown>>): string[] {
  return command.map((arg) =>
    arg.replace(PLACEHOLDER, (_, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : '')),
  );
}

/** The environment variable a param is passed in: `batch` → `PARAM_BATCH`. */
export function paramEnvName(param: string): string {
  return `PARAM_${param.toUpperCase()}`;
}

/** Every param as an environment variable, so shell scripts read them without splicing. */
export function paramEnv(params: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [paramEnvName(k), String(v)]));
}
