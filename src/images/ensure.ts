/**
 * Makes an image present on a machine's engine, by the cheapest way that works: nothing when
 * the machine has it (same image id, or the same registry digest under another name); a pull
 * by digest from a registry near the machine when both this process and the machine reach
 * it; else `docker save | docker load` streamed over the machine's own Docker connection
 * (for an SSH machine, its one SSH connection). Whichever way, the image lands under its
 * usual reference and is checked by id, and the answer names the digest that will run.
 */
import type Docker from 'dockerode';
import { errorMessage, InfrastructureError, silentLogger, systemClock } from '../core/index.js';
import { dockerFailure, dockerMessage, shipImage, statusOf } from '../engine/index.js';
import { pullByDigest, pushImage, type DistributeOptions } from './distribute.js';
import type { LayerTally } from './progress.js';
import { digestAt, parseRef, registryDigestRef } from './reference.js';
import { RegistryClient } from './registry.js';

/** One registry as the two sides of a transfer reach it. */
export interface RegistryRoute {
  /** HOST:PORT the source engine pushes to (and this process asks over HTTP). */
  push: string;
  /**
   * HOST:PORT the target machine's engine pulls from: the same registry, from the machine.
   * @default push
   */
  pull?: string;
}

export interface EnsureImageOptions extends DistributeOptions {
  /** The engine that holds the image (the controller's). */
  source: Docker;
  /** The target machine's name, for messages. */
  machine: string;
  /** Use this registry when it is reachable from here and from the machine. */
  registry?: RegistryRoute;
  /**
   * How long the machine's engine may take to reach the registry before save|load is used.
   * @default 10000
   */
  probeTimeoutMs?: number;
}

export type Delivery = 'present' | 'registry' | 'save-load';

export interface EnsuredImage {
  ref: string;
  /** The image id on the machine (equal to the source's). */
  id: string;
  /** What a result records: the registry digest where the machine has one, else the image id. */
  digest: string;
  via: Delivery;
  /** Why a given registry was not used. */
  fallback?: string;
  /** Registry pulls: layers fetched and layers the machine had. */
  layers?: LayerTally;
  ms: number;
}

type Inspected = Docker.ImageInspectInfo;

async function inspectOrNone(docker: Docker, ref: string, where: string): Promise<Inspected | undefined> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw dockerFailure(`inspecting image '${ref}' on ${where}`, err, { image: ref });
  }
}

const firstDigest = (info: Inspected): string => info.RepoDigests?.[0]?.split('@')[1] ?? info.Id;

export async function ensureImage(
  target: Docker,
  ref: string,
  opts: EnsureImageOptions,
): Promise<EnsuredImage> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  const t0 = clock.now();
  const done = (r: Omit<EnsuredImage, 'ref' | 'ms'>): EnsuredImage => ({ ref, ...r, ms: clock.now() - t0 });
  const [want, have] = await Promise.all([
    inspectOrNone(opts.source, ref, 'the controller'),
    inspectOrNone(target, ref, `'${opts.machine}'`),
  ]);
  if (have && (!want || have.Id === want.Id)) {
    logger.info(`image ${ref} on ${opts.machine}: present (skipped)`);
    return done({ id: have.Id, digest: firstDigest(have), via: 'present' });
  }
  if (!want)
    throw new InfrastructureError(
      `image '${ref}' is neither on machine '${opts.machine}' nor on the controller's engine to send from`,
      { image: ref, machine: opts.machine },
    );
  let fallback: string | undefined;
  if (opts.registry) {
    fallback = await registryUnusable(target, opts.registry, opts);
    if (!fallback) return done(await viaRegistry(target, ref, want, opts.registry, opts));
    logger.warn(
      `image ${ref} for ${opts.machine}: not using the registry (${fallback}); sending it with save|load`,
    );
  }
  const outcome = await shipImage(
    opts.source,
    target,
    ref,
    opts.machine,
    opts.signal ? { signal: opts.signal } : {},
  );
  return done({
    id: want.Id,
    digest: want.Id,
    via: outcome === 'present' ? 'present' : 'save-load',
    ...(fallback ? { fallback } : {}),
  });
}

/** Why the registry cannot serve this transfer, or `undefined` when it can. */
async function registryUnusable(
  target: Docker,
  route: RegistryRoute,
  opts: EnsureImageOptions,
): Promise<string | undefined> {
  const pull = route.pull ?? route.push;
  try {
    await new RegistryClient(route.push, opts).ping(opts.signal);
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    return errorMessage(err);
  }
  // The machine's engine asks the registry's /v2/ itself (POST /auth): what its pull will see.
  try {
    const signals = [
      AbortSignal.timeout(opts.probeTimeoutMs ?? 10_000),
      ...(opts.signal ? [opts.signal] : []),
    ];
    await target.checkAuth({ serveraddress: pull, abortSignal: AbortSignal.any(signals) });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    return `machine '${opts.machine}' cannot reach registry ${pull}: ${dockerMessage(err)}`;
  }
  return undefined;
}

async function viaRegistry(
  target: Docker,
  ref: string,
  want: Inspected,
  route: RegistryRoute,
  opts: EnsureImageOptions,
): Promise<Omit<EnsuredImage, 'ref' | 'ms'>> {
  const { repo, tag } = parseRef(ref);
  const pull = route.pull ?? route.push;
  const client = new RegistryClient(route.push, opts);
  // Pushed before and still there: the digest is known, nothing to push.
  let digest = digestAt(want.RepoDigests, route.push, repo);
  if (digest && (await client.manifestDigest(repo, digest, opts.signal)) !== digest) digest = undefined;
  digest ??= (await pushImage(opts.source, ref, route.push, opts)).digest;

  const pullRef = registryDigestRef(pull, repo, digest);
  const had = await inspectOrNone(target, pullRef, `'${opts.machine}'`);
  const pulled = had?.Id === want.Id ? undefined : await pullByDigest(target, pull, repo, digest, opts);
  const id = pulled?.id ?? had?.Id;
  if (id !== want.Id)
    throw new InfrastructureError(
      `'${pullRef}' is image ${id} on '${opts.machine}', but '${ref}' is ${want.Id} on the controller`,
      { image: ref, machine: opts.machine, digest },
    );
  await target
    .getImage(pullRef)
    .tag({ repo, tag })
    .catch((err: unknown) => {
      throw dockerFailure(`tagging '${pullRef}' as '${ref}' on '${opts.machine}'`, err, { image: ref });
    });
  return pulled ? { id, digest, via: 'registry', layers: pulled.layers } : { id, digest, via: 'present' };
}
