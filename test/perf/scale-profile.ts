/**
 * Where the controller's time goes: a V8 CPU profile of the process (node:inspector), each
 * sample charged to the nearest frame of the project or of an npm package on its stack
 * (a native call such as JSON.stringify or a better-sqlite3 statement, and Node's own
 * internals, count for the code that called them), then grouped by file and by area.
 */
import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';
import { findSourceMap } from 'node:module';
import { pathToFileURL } from 'node:url';

export interface ProfileSummary {
  /** Sampled time, ms, by area (see AREAS), by file and by function. */
  areas: Record<string, number>;
  files: Record<string, number>;
  functions: Record<string, number>;
  totalMs: number;
  idleMs: number;
}

/** Starts sampling this process; the answer stops it and summarizes the profile. */
export async function startProfile(intervalUs = 1000): Promise<() => Promise<ProfileSummary>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return summarize(profile);
  };
}

const ROOT = pathToFileURL(process.cwd()).href + '/';

/** A frame's place: a project file (`src/…`), an npm package (`npm:<name>`), or undefined. */
function placeOf(url: string): string | undefined {
  if (!url.startsWith('file://')) return undefined;
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return `npm:${pkg[1]}`;
  return url.startsWith(ROOT) ? url.slice(ROOT.length).replace(/\?.*$/, '') : url;
}

/** Files to areas, first match wins. */
const AREAS: readonly (readonly [RegExp, string])[] = [
  [/^src\/schedule\/scheduler\.ts$/, 'scheduler'],
  [/^src\/schedule\/(fleet|fleet-machine|machine-setup)\.ts$/, 'fleet'],
  [/^src\/schedule\/membership\.ts$/, 'membership'],
  [/^src\/schedule\/work-queue\.ts$/, 'work-queue'],
  [/^src\/schedule\//, 'repetition'],
  [/^npm:(p-queue|eventemitter3|p-timeout)$/, 'p-queue (engine slots)'],
  [/^src\/engine\/(result-parser|score-regex|regex-)|^src\/core\/json-path|^npm:re2js$/, 'result parsing'],
  [/^src\/engine\//, 'runContainer'],
  [/^src\/metrics\//, 'metrics (line feed)'],
  [/^src\/store\/(sqlite|write-guard|disk-reserve)|^src\/state\/|^npm:better-sqlite3$/, 'SQLite store'],
  [/^src\/store\/(elasticsearch|bulk-sink|spool)|^npm:(@elastic\/.*|undici|secure-json-parse)$/, 'ES sink'],
  [/^src\/store\//, 'store fanout'],
  [/^test\/helpers\/sim\/virtual-clock/, 'sim: virtual clock'],
  [/^test\/helpers\/sim\//, 'sim: fake engine/provider'],
  [/^test\/perf\//, 'sim: harness'],
  [/^src\/(config|plan)\//, 'planning (once)'],
  [/^src\/core\//, 'core (labels, errors)'],
  [/^npm:(tsx|esbuild|get-tsconfig)$/, 'tsx loader'],
];

/** Areas added up: the controller's own code, its stores, the runtime, and the simulation (to subtract). */
export const GROUPS: readonly (readonly [string, RegExp])[] = [
  [
    'Σ scheduling (scheduler … runContainer, parsing)',
    /^(scheduler|fleet|membership|work-queue|repetition|p-queue.*|runContainer|result parsing|metrics.*|core.*)$/,
  ],
  ['Σ stores (SQLite, ES sink, fanout)', /^(SQLite store|ES sink|store fanout)$/],
  ['Σ runtime (GC, V8, node internals: with ES, its HTTP)', /^(GC|V8.*|node internals.*)$/],
  ['Σ simulation (sim: …): not a controller cost', /^sim: /],
];

export function areaOf(place: string): string {
  return AREAS.find(([re]) => re.test(place))?.[1] ?? place;
}

/** Nodes V8 reports that are no function: `(idle)`, `(program)`, `(garbage collector)`. */
const SPECIAL = new Map([
  ['(idle)', 'idle (waiting on I/O)'],
  ['(program)', 'V8 (program)'],
  ['(garbage collector)', 'GC'],
  ['(root)', 'V8 (program)'],
]);
const IDLE = SPECIAL.get('(idle)')!;

/** The line in the TypeScript source (tsx compiles with source maps); 1-based. */
function sourceLine(frame: Profiler.ProfileNode['callFrame']): number {
  try {
    const entry = findSourceMap(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry && 'originalLine' in entry) return entry.originalLine + 1;
  } catch {
    // No map: the generated line.
  }
  return frame.lineNumber + 1;
}

function summarize(profile: Profiler.Profile): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Each node's place, charged up the stack to the nearest project or package frame.
  const placeCache = new Map<number, string>();
  const chargedPlace = (id: number): string => {
    const known = placeCache.get(id);
    if (known) return known;
    const n = nodes.get(id)!;
    const special = SPECIAL.get(n.callFrame.functionName);
    let place = special ?? placeOf(n.callFrame.url);
    if (!place) {
      const up = parent.get(id);
      place = up !== undefined && nodes.get(up)!.callFrame.functionName !== '(root)' ? chargedPlace(up) : '';
      place ||= 'node internals (event loop, promises, timers)';
    }
    placeCache.set(id, place);
    return place;
  };
  const out: ProfileSummary = { areas: {}, files: {}, functions: {}, totalMs: 0, idleMs: 0 };
  const add = (o: Record<string, number>, k: string, ms: number) => (o[k] = (o[k] ?? 0) + ms);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // A sample stands for the time until the next one.
    const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    const id = samples[i]!;
    const frame = nodes.get(id)!.callFrame;
    const place = chargedPlace(id);
    out.totalMs += ms;
    if (place === IDLE) {
      out.idleMs += ms;
      continue;
    }
    add(out.areas, areaOf(place), ms);
    add(out.files, place, ms);
    const own = placeOf(frame.url);
    const fn = frame.functionName || '(anonymous)';
    const key = own
      ? `${fn} ${own}:${sourceLine(frame)}`
      : SPECIAL.has(frame.functionName)
        ? place
        : `${fn} (native/node) ← ${place}`;
    add(out.functions, key, ms);
  }
  return out;
}
