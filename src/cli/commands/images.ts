/**
 * `benchyard images build|push|ls`: the project's own images (`images/<name>/Dockerfile`,
 * tagged `benchyard/<name>:<version>`) on this machine's Docker engine, addressed by content
 * digest, and pushed to a registry near the machines so they can pull by digest.
 */
import Docker from 'dockerode';
import path from 'node:path';
import { InfrastructureError, InputError } from '../../core/index.js';
import {
  buildCatalogImage,
  checkRegistryAddress,
  listCatalog,
  parseRef,
  pushImage,
  RegistryClient,
  selectImages,
  type CatalogImage,
} from '../../images/index.js';
import { statusOf } from '../../engine/index.js';
import { dataTable } from '../../report/index.js';
import type { CliIo } from '../io.js';
import { PACKAGE_ROOT } from '../paths.js';

const IMAGES_DIR = path.join(PACKAGE_ROOT, 'images');

function registryOption(value: string): string {
  try {
    return checkRegistryAddress(value);
  } catch (err) {
    throw new InputError(`--registry: ${(err as Error).message}`);
  }
}

/** Builds the named images (default: every buildable one) with the engine's layer cache. */
export async function imagesBuildCommand(
  names: string[],
  opts: { force?: boolean },
  io: CliIo,
): Promise<void> {
  const docker = new Docker();
  for (const image of selectImages(await listCatalog(IMAGES_DIR), names)) {
    const t0 = performance.now();
    const r = await buildCatalogImage(docker, image, {
      logger: io.logger,
      signal: io.signal,
      ...(opts.force ? { force: true } : {}),
    });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    io.stdout(`${r.ref}  ${r.id}  ${r.built ? `built in ${secs} s` : 'up to date (skipped)'}\n`);
  }
}

/** Pushes the named images (default: every buildable one) and prints the digest of each. */
export async function imagesPushCommand(
  names: string[],
  opts: { registry: string; json?: boolean },
  io: CliIo,
): Promise<void> {
  const registry = registryOption(opts.registry);
  const docker = new Docker();
  const client = new RegistryClient(registry, { logger: io.logger });
  await client.ping(io.signal);
  const pushed = [];
  for (const image of selectImages(await listCatalog(IMAGES_DIR), names)) {
    if (image.skip) throw new InputError(`image '${image.name}' is not pushed from here: ${image.skip}`);
    const p = await pushImage(docker, image.ref, registry, { logger: io.logger, signal: io.signal });
    // The registry must serve the same digest for the tag the engine just pushed.
    const served = await client.manifestDigest(p.repo, parseRef(image.ref).tag, io.signal);
    if (served !== p.digest)
      throw new InfrastructureError(
        `registry ${registry} serves ${served ?? 'nothing'} for ${p.registryRef}, not ${p.digest}`,
      );
    pushed.push(p);
    if (!opts.json)
      io.stdout(
        `${image.ref}  ${registry}/${p.repo}@${p.digest}  (${p.layers.moved} layer(s) sent, ${p.layers.skipped} present, ${(p.ms / 1000).toFixed(1)} s)\n`,
      );
  }
  if (opts.json) io.stdout(`${JSON.stringify(pushed, null, 2)}\n`);
}

interface ImageRow {
  name: string;
  ref: string;
  /** Absent when this engine does not have the image. */
  id?: string;
  sizeBytes?: number;
  /** Every `registry/repo@digest` the engine records (pushes and pulls). */
  repoDigests: string[];
  /** The digest `--registry` serves for the ref, when asked and pushed. */
  registryDigest?: string;
  skip?: string;
}

async function row(docker: Docker, image: CatalogImage, client: RegistryClient | undefined, io: CliIo) {
  const out: ImageRow = {
    name: image.name,
    ref: image.ref,
    repoDigests: [],
    ...(image.skip ? { skip: image.skip } : {}),
  };
  try {
    const info = await docker.getImage(image.ref).inspect();
    Object.assign(out, { id: info.Id, sizeBytes: info.Size, repoDigests: info.RepoDigests ?? [] });
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
  if (client) {
    const { repo, tag } = parseRef(image.ref);
    const digest = await client.manifestDigest(repo, tag, io.signal);
    if (digest) out.registryDigest = digest;
  }
  return out;
}

/** Lists the catalog with what this engine (and, with --registry, the registry) holds. */
export async function imagesLsCommand(opts: { json?: boolean; registry?: string }, io: CliIo): Promise<void> {
  const docker = new Docker();
  const client = opts.registry
    ? new RegistryClient(registryOption(opts.registry), { logger: io.logger })
    : undefined;
  const rows: ImageRow[] = [];
  for (const image of await listCatalog(IMAGES_DIR)) rows.push(await row(docker, image, client, io));
  if (opts.json) return io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
  const cells = rows.map((r) => {
    const digest = r.registryDigest ?? r.repoDigests[0]?.split('@')[1];
    return [
      r.name,
      r.ref,
      r.id ? r.id.slice(7, 19) : r.skip ? 'built per machine' : 'not built',
      r.sizeBytes === undefined ? '' : `${(r.sizeBytes / 1e6).toFixed(0)} MB`,
      digest ?? (r.id ? 'not pushed' : ''),
    ];
  });
  io.stdout(`${dataTable(['name', 'tag', 'image id', 'size', 'registry digest'], cells, io.columns)}\n`);
}
