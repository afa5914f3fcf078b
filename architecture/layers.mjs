// The layers of architecture/layers.json turned into what checks them: the data's own rules
// (`problems`), dependency-cruiser rules (`forbiddenRules`) and the "may import" column of
// docs/ARCHITECTURE.md's module table (`mayImportColumn`). Types: layers.d.mts.
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';

/** @returns {import('./layers.d.mts').LayerData} */
export function readLayers(file = new URL('./layers.json', import.meta.url)) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

const FOUNDATION = 'src/core';
const COMPOSITION_ROOT = 'src/cli';
// Providers are adapters the CLI wires: they see the ports, the engine adapters that give
// their machines an engine, and (types only) their own validated target options.
const PROVIDER_VALUES = ['src/core', 'src/engine'];
const PROVIDER_TYPES = ['src/config/targets'];

const isProvider = (folder) => folder.startsWith('providers/');
/** The layer folder an entry (a folder or one file) lies in: `src/report/summary.ts` → `src/report`. */
const folderOf = (entry) => entry.split('/').slice(0, 2).join('/');
const within = (entry, allowed) => allowed.some((a) => entry === a || entry.startsWith(`${a}/`));

/** What is wrong with the data itself; [] when it holds the layering's rules. */
export function problems(data) {
  const out = [];
  const seen = new Set();
  for (const layer of data.layers) {
    const { folder } = layer;
    if (!/^(src|providers)\/[a-z0-9-]+$/.test(folder))
      out.push(`${folder}: not a folder of src/ or providers/`);
    if (seen.has(folder)) out.push(`${folder}: listed twice`);
    const values = layer.mayImport;
    const types = layer.mayImportTypes ?? [];
    for (const entry of [...values, ...types]) {
      const target = folderOf(entry);
      // Lower layers never import higher ones: every entry lies in a folder listed above.
      if (!seen.has(target)) out.push(`${folder} → ${entry}: ${target} is not a layer below ${folder}`);
      if (isProvider(target) && folder !== COMPOSITION_ROOT)
        out.push(`${folder} → ${entry}: only ${COMPOSITION_ROOT} (the composition root) imports providers`);
      if (data.layers.some((l) => l.browser && l.folder === target))
        out.push(`${folder} → ${entry}: ${target} is browser code, bundled on its own`);
    }
    if (folder === FOUNDATION && values.length + types.length > 0)
      out.push(`${FOUNDATION} imports nothing of the project`);
    if (isProvider(folder)) {
      for (const v of values)
        if (!within(v, PROVIDER_VALUES))
          out.push(`${folder} → ${v}: providers import ${PROVIDER_VALUES.join(', ')}`);
      for (const t of types)
        if (!within(t, PROVIDER_TYPES))
          out.push(`${folder} → ${t}: providers import types of ${PROVIDER_TYPES}`);
    }
    seen.add(folder);
  }
  for (const e of data.exceptions) {
    const name = `exception ${e.from} → ${e.to}`;
    if (!seen.has(e.from)) out.push(`${name}: ${e.from} is not a layer`);
    if (!seen.has(folderOf(e.to))) out.push(`${name}: ${e.to} is not in a layer`);
    if (!e.why?.trim()) out.push(`${name}: say why, so it can be removed once the reason is gone`);
  }
  return out;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A path regex for an entry: a folder and everything under it, or exactly one file. */
const pathOf = (entry) => (entry.endsWith('.ts') ? `^${escape(entry)}$` : `^${escape(entry)}/`);
const PROJECT = '^(src|providers)/';

/** dependency-cruiser `forbidden` rules: one per layer (two where types are allowed further). */
export function forbiddenRules(data) {
  const known = data.layers.map((l) => pathOf(l.folder));
  const rules = [
    {
      name: 'layers/unknown-folder',
      severity: 'error',
      comment: 'every folder of src/ and providers/ is a layer of architecture/layers.json',
      from: { path: PROJECT, pathNot: known },
      to: {},
    },
    {
      name: 'layers/unknown-folder',
      severity: 'error',
      comment: 'every folder of src/ and providers/ is a layer of architecture/layers.json',
      from: {},
      to: { path: PROJECT, pathNot: known },
    },
    {
      // An import that resolves nowhere would slip past every layer rule.
      name: 'layers/unresolvable',
      severity: 'error',
      comment: 'every import resolves (else no layer rule can see it)',
      from: {},
      to: { couldNotResolve: true },
    },
  ];
  for (const layer of data.layers) {
    const own = data.exceptions.filter((e) => e.from === layer.folder);
    const values = [layer.folder, ...layer.mayImport, ...own.filter((e) => !e.typesOnly).map((e) => e.to)];
    const types = [...values, ...(layer.mayImportTypes ?? []), ...own.map((e) => e.to)];
    const name = `layers/${layer.folder}`;
    const comment = `${layer.folder} may import: ${mayImportColumn(layer, data.exceptions)} (architecture/layers.json)`;
    const from = { path: pathOf(layer.folder) };
    const to = (allowed) => ({ path: PROJECT, pathNot: allowed.map(pathOf) });
    if (types.length === values.length) {
      rules.push({ name, severity: 'error', comment, from, to: to(values) });
    } else {
      rules.push({
        name,
        severity: 'error',
        comment,
        from,
        to: { ...to(values), dependencyTypesNot: ['type-only'] },
      });
      rules.push({
        name,
        severity: 'error',
        comment,
        from,
        to: { ...to(types), dependencyTypes: ['type-only'] },
      });
    }
    if (layer.browser)
      rules.push({
        name: `layers/${layer.folder}-is-browser-code`,
        severity: 'error',
        comment: `${layer.folder} runs in the browser: no Node built-in modules`,
        from,
        to: { dependencyTypes: ['core'] },
      });
  }
  return rules;
}

const short = (entry) => entry.replace(/^src\//, '');

/** The "may import" cell of the layer's row in docs/ARCHITECTURE.md, rendered from the data. */
export function mayImportColumn(layer, exceptions) {
  const parts = [];
  if (layer.mayImport.length > 0) parts.push(layer.mayImport.map(short).join(', '));
  if (layer.mayImportTypes?.length) parts.push(`types of ${layer.mayImportTypes.map(short).join(', ')}`);
  for (const e of exceptions.filter((x) => x.from === layer.folder))
    parts.push(`exception: ${e.typesOnly ? 'types of ' : ''}${short(e.to)}`);
  return parts.length > 0 ? parts.join('; ') : 'nothing of the project';
}
