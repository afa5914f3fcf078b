// Types of layers.mjs (plain JavaScript, so dependency-cruiser loads it without a build).

export interface Layer {
  /** `src/<name>` or `providers/<name>`. */
  folder: string;
  /** Folders or single files (`….ts`) this folder may import, values and types. */
  mayImport: string[];
  /** Folders or files this folder may import with `import type` only. */
  mayImportTypes?: string[];
  /** Runs in the browser: no Node built-in modules, and nothing else imports it. */
  browser?: boolean;
}

/** An import the layering forbids, allowed by name until its reason is gone. */
export interface LayerException {
  from: string;
  to: string;
  typesOnly?: boolean;
  why: string;
}

export interface LayerData {
  about: string;
  /** Bottom first: every entry of a layer names a folder listed above it. */
  layers: Layer[];
  exceptions: LayerException[];
}

export interface ForbiddenRule {
  name: string;
  severity: 'error';
  comment: string;
  from: Record<string, unknown>;
  to: Record<string, unknown>;
}

export function readLayers(file?: URL | string): LayerData;
export function problems(data: LayerData): string[];
export function forbiddenRules(data: LayerData): ForbiddenRule[];
export function mayImportColumn(layer: Layer, exceptions: LayerException[]): string;
