/**
 * The project's own images: one folder per image under `images/`, each with a Dockerfile,
 * tagged `benchyard/<folder>:<version>` as scripts/services names them (the version comes
 * from a `# benchyard-image-version: N` line, default 1). A `# benchyard-services: skip`
 * line marks an image benchyard builds elsewhere (the agent, on each machine).
 */
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, type Logger } from '../core/index.js';
import { buildImage, dockerFailure, statusOf } from '../engine/index.js';

export const IMAGE_PREFIX = 'benchyard';
/** The label scripts/services puts on what it builds: the Dockerfile's sha256. */
export const DOCKERFILE_SHA_LABEL = 'benchyard.dockerfile-sha';

export interface CatalogImage {
  /** The folder's name, e.g. `bench-tools`. */
  name: string;
  version: string;
  /** e.g. `benchyard/bench-tools:1` */
  ref: string;
  dir: string;
  /** sha256 of the Dockerfile (hex), what scripts/services compares to decide on a rebuild. */
  dockerfileSha: string;
  /** Why `images build` leaves it alone (from the skip line), if it does. */
  skip?: string;
}

const NAME = /^[a-z0-9]+([._-][a-z0-9]+)*$/;

/** Every `<imagesDir>/<name>/Dockerfile`, sorted by name. */
export async function listCatalog(imagesDir: string): Promise<CatalogImage[]> {
  const entries = await readdir(imagesDir, { withFileTypes: true }).catch((err: unknown) => {
    throw new InputError(`cannot read the images folder ${imagesDir}: ${(err as Error).message}`);
  });
  const out: CatalogImage[] = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(imagesDir, e.name);
    const bytes = await readFile(path.join(dir, 'Dockerfile')).catch(() => undefined);
    if (bytes === undefined) continue;
    const text = bytes.toString('utf8');
    if (!NAME.test(e.name))
      throw new InputError(`images/${e.name}: the folder name is not a valid Docker image name`);
    const version = /^#\s*benchyard-image-version:\s*(\d+)\s*$/m.exec(text)?.[1] ?? '1';
    const skip = /^# benchyard-services: skip\s*(.*)$/m.exec(text);
    out.push({
      name: e.name,
      version,
      ref: `${IMAGE_PREFIX}/${e.name}:${version}`,
      dir,
      dockerfileSha: createHash('sha256').update(bytes).digest('hex'),
      ...(skip ? { skip: skip[1]?.replace(/^\((.*)\)$/, '$1') || 'marked skip' } : {}),
    });
  }
  return out;
}

/** The named images (all buildable ones when `names` is empty); unknown names are an InputError. */
export function selectImages(catalog: readonly CatalogImage[], names: readonly string[]): CatalogImage[] {
  if (names.length === 0) return catalog.filter((i) => !i.skip);
  const unknown = names.filter((n) => !catalog.some((i) => i.name === n));
  if (unknown.length > 0)
    throw new InputError(
      `unknown image(s) ${unknown.map((n) => `'${n}'`).join(', ')}; images/ has ${catalog.map((i) => i.name).join(', ')}`,
    );
  return catalog.filter((i) => names.includes(i.name));
}

export interface BuiltImage {
  ref: string;
  id: string;
  /** False when the engine already had it from this very Dockerfile (scripts/services' label). */
  built: boolean;
}

/**
 * Builds one catalog image on `docker` with the engine's layer cache. An image that
 * scripts/services built from the same Dockerfile is kept as it is (rebuilding it without
 * that label would make scripts/services think it stale), unless `force`.
 */
export async function buildCatalogImage(
  docker: Docker,
  image: CatalogImage,
  opts: { logger: Logger; signal: AbortSignal; force?: boolean },
): Promise<BuiltImage> {
  if (image.skip) throw new InputError(`image '${image.name}' is not built here: ${image.skip}`);
  const current = await inspect(docker, image.ref);
  if (!opts.force && current?.Config?.Labels?.[DOCKERFILE_SHA_LABEL] === image.dockerfileSha) {
    opts.logger.info(`image ${image.ref}: up to date (skipped)`);
    return { ref: image.ref, id: current.Id, built: false };
  }
  await buildImage(docker, image.dir, image.ref, { logger: opts.logger, signal: opts.signal });
  const built = await inspect(docker, image.ref);
  if (!built) throw dockerFailure(`inspecting '${image.ref}' after building it`, new Error('not found'));
  return { ref: image.ref, id: built.Id, built: true };
}

async function inspect(docker: Docker, ref: string): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw dockerFailure(`inspecting image '${ref}'`, err, { image: ref });
  }
}
