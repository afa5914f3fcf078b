/**
 * Moving an image between Docker engines by content digest: `pushImage` sends an image from
 * an engine to a registry and answers the manifest digest; `pullByDigest` pulls exactly that
 * content into another engine. Both go through the engines' own registry clients (the
 * bytes never pass through this process) and retry transient registry failures.
 * `ensureImage` (ensure.ts) picks between this and `docker save | docker load`.
 */
import type Docker from 'dockerode';
import { InfrastructureError, silentLogger, systemClock, type Clock, type Logger } from '../core/index.js';
import { dockerFailure, statusOf } from '../engine/index.js';
import { readProgress, tallyLayers, type LayerTally, type ProgressEvent } from './progress.js';
import { parseRef, registryDigestRef, registryTagRef } from './reference.js';
import { checkRegistryAddress } from './registry.js';
import { withRetries, type RetryPolicy } from './retry.js';

export interface DistributeOptions extends RetryPolicy {
  logger?: Logger;
  clock?: Clock;
  signal?: AbortSignal;
}

export interface PushedImage {
  /** The local reference pushed, e.g. `benchyard/bench-tools:1`. */
  ref: string;
  /** The reference in the registry, e.g. `127.0.0.1:5000/benchyard/bench-tools:1`. */
  registryRef: string;
  repo: string;
  /** The manifest's content digest, `sha256:…`, as the registry addresses it. */
  digest: string;
  /** The local image id (the config's digest): the same on every engine that holds it. */
  id: string;
  layers: LayerTally;
  ms: number;
}

export interface PulledImage {
  /** `registry/repo@sha256:…` */
  registryRef: string;
  digest: string;
  /** The image id on the engine that pulled. */
  id: string;
  layers: LayerTally;
  /** The engine already had every layer and the manifest: nothing moved. */
  upToDate: boolean;
  ms: number;
}

/** No credentials: registries near the machines are open. Without the header a push is refused. */
const NO_AUTH = { username: '', password: '' };

function deps(opts: DistributeOptions): { clock: Clock; logger: Logger; signal?: AbortSignal } {
  return {
    clock: opts.clock ?? systemClock,
    logger: opts.logger ?? silentLogger,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}

/**
 * Tags `ref` as `<registry>/<repo>:<tag>` on `docker` and pushes it, following the progress
 * stream to its end; answers the digest the engine reports (`aux.Digest`).
 */
export async function pushImage(
  docker: Docker,
  ref: string,
  registry: string,
  opts: DistributeOptions = {},
): Promise<PushedImage> {
  const r = parseRef(ref);
  checkRegistryAddress(registry);
  const d = deps(opts);
  const registryRef = registryTagRef(registry, r);
  const info = await docker
    .getImage(ref)
    .inspect()
    .catch((err: unknown) => {
      if (statusOf(err) === 404)
        throw new InfrastructureError(`cannot push '${ref}': no such image on this engine (build it first)`, {
          image: ref,
        });
      throw dockerFailure(`inspecting '${ref}'`, err, { image: ref });
    });
  await docker
    .getImage(ref)
    .tag({ repo: `${registry}/${r.repo}`, tag: r.tag, ...(opts.signal ? { abortSignal: opts.signal } : {}) })
    .catch((err: unknown) => {
      throw dockerFailure(`tagging '${ref}' as '${registryRef}'`, err, { image: ref });
    });
  const t0 = d.clock.now();
  d.logger.info(`pushing ${ref} (${info.Id.slice(7, 19)}) to ${registryRef}`);
  const events = await withRetries(
    `registry ${registry}: push ${registryRef}`,
    async () => {
      const stream = await docker.getImage(`${registry}/${r.repo}`).push({
        tag: r.tag,
        authconfig: NO_AUTH,
        ...(opts.signal ? { abortSignal: opts.signal } : {}),
      });
      return readProgress(stream);
    },
    opts,
    d,
    { registry, image: ref },
  );
  const digest = events.find((e) => e.aux?.Digest)?.aux?.Digest;
  if (!digest?.startsWith('sha256:'))
    throw new InfrastructureError(`push of '${registryRef}' ended without a digest from the engine`, {
      registry,
      image: ref,
    });
  const layers = tallyLayers(events);
  const ms = d.clock.now() - t0;
  d.logger.info(
    `pushed ${registryRef}@${digest} (${layers.moved} layer(s) sent, ${layers.skipped} present) in ${ms} ms`,
  );
  return { ref, registryRef, repo: r.repo, digest, id: info.Id, layers, ms };
}

/**
 * Pulls `<registry>/<repo>@<digest>` into `docker` and checks, by inspecting it, that the
 * engine now records exactly that digest for it. A second pull moves nothing (`upToDate`).
 */
export async function pullByDigest(
  docker: Docker,
  registry: string,
  repo: string,
  digest: string,
  opts: DistributeOptions = {},
): Promise<PulledImage> {
  checkRegistryAddress(registry);
  const d = deps(opts);
  const registryRef = registryDigestRef(registry, repo, digest);
  const t0 = d.clock.now();
  d.logger.info(`pulling ${registryRef}`);
  const events: ProgressEvent[] = await withRetries(
    `registry ${registry}: pull ${registryRef}`,
    async () => {
      const stream = await docker.createImage({
        fromImage: registryRef,
        ...(opts.signal ? { abortSignal: opts.signal } : {}),
      });
      return readProgress(stream);
    },
    opts,
    d,
    { registry, image: registryRef },
  );
  const info = await docker
    .getImage(registryRef)
    .inspect()
    .catch((err: unknown) => {
      throw dockerFailure(`inspecting '${registryRef}' after pulling it`, err, { image: registryRef });
    });
  if (!info.RepoDigests?.includes(registryRef))
    throw new InfrastructureError(
      `pulled '${registryRef}', but the engine records ${JSON.stringify(info.RepoDigests ?? [])} for image ${info.Id}`,
      { registry, image: registryRef },
    );
  const layers = tallyLayers(events);
  const upToDate = events.some((e) => /Image is up to date/i.test(e.status ?? ''));
  const ms = d.clock.now() - t0;
  d.logger.info(
    `pulled ${registryRef} as ${info.Id.slice(7, 19)}${upToDate ? ' (up to date)' : ''}: ${layers.moved} layer(s) fetched, ${layers.skipped} present, ${ms} ms`,
  );
  return { registryRef, digest, id: info.Id, layers, upToDate, ms };
}
