/**
 * Getting one machine ready for a run's cells: its images present (built there, found, or
 * brought by digest from the run's registry, else `docker save | load` over its SSH
 * connection) and its hardware fingerprint taken, which every result and the machines
 * record carry.
 */
import type Docker from 'dockerode';
import {
  InfrastructureError,
  errorMessage,
  ownerLabels,
  PROVISION_STEPS,
  type Clock,
  type Logger,
  type Machine,
  type MachineRecord,
  type MatrixCell,
  type ProvisionStep,
} from '../core/index.js';
import { buildImage, dockerOf, presentImage, type ImageInfo } from '../engine/index.js';
import { collectFingerprint, fingerprintHash, type Fingerprint } from '../fingerprint/index.js';
import { ensureImage, pushImage, registryDigestRef } from '../images/index.js';
import type { RunEvent } from './events.js';

export interface SetupContext {
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
  /** The controller's engine: what a remote machine lacks comes from it. */
  imageSource?: Docker;
}

/** A fingerprint as taken on a machine: the probe's result, its hash (what results carry), and when. */
export interface HashedFingerprint {
  hash: string;
  fp: Fingerprint;
  /** ISO 8601. */
  collectedAt: string;
}

/** The image the fingerprint probe runs in unless told otherwise (a Debian minbase). */
export const DEFAULT_FINGERPRINT_IMAGE = 'benchyard/base:bookworm';

/** The probe container is killed after this long; the fingerprint keeps what it printed. */
const FINGERPRINT_TIMEOUT_MS = 60_000;

/** Makes every image of the target's cells present on the machine; answers what each is. */
export async function prepareImages(
  machine: Machine,
  target: string,
  cells: readonly MatrixCell[],
  ctx: SetupContext & { registry?: string; onEvent?: (e: RunEvent) => void },
): Promise<Map<string, ImageInfo>> {
  const images = new Map<string, ImageInfo>();
  const docker = dockerOf(machine.engine);
  for (const [ref, build] of new Map(cells.map((c) => [c.image, c.build]))) {
    if (build !== undefined) {
      if (!docker)
        throw new InfrastructureError(
          `image '${ref}' is built from ${build}, which needs a Docker engine; ${machine.id} runs a ${machine.engine.kind} engine (push the image to the run's registry instead)`,
          { image: ref, machine: machine.id },
        );
      ctx.onEvent?.({ type: 'image-build', target, image: ref, context: build });
      await buildImage(docker, build, ref, { logger: ctx.logger, signal: ctx.signal });
    } else if (!docker && machine.engine.pullsFromRegistry) {
      images.set(ref, await pushedImage(machine, ref, ctx, cells[0]?.target.registry));
      continue;
    } else if (docker)
      // The target's machines may reach the run's registry at their own address.
      await bringImage(
        machine,
        docker,
        ref,
        ctx,
        ctx.registry ? { push: ctx.registry, pull: cells[0]?.target.registry ?? ctx.registry } : undefined,
      );
    images.set(ref, await presentImage(machine.engine, ref, machine.id));
  }
  return images;
}

/**
 * An engine whose nodes pull (a cluster) runs the image by digest from the run's registry:
 * pushed there from the controller's engine (a push of what is there already moves nothing).
 */
async function pushedImage(
  machine: Machine,
  ref: string,
  ctx: SetupContext & { registry?: string },
  pullAddress: string | undefined,
): Promise<ImageInfo> {
  if (!ctx.registry || !ctx.imageSource)
    throw new InfrastructureError(
      `${machine.id} runs a ${machine.engine.kind} engine, whose nodes pull images by digest from a registry: set the matrix's images.registry (and build '${ref}' on this machine's Docker engine)`,
      { image: ref, machine: machine.id },
    );
  const pushed = await pushImage(ctx.imageSource, ref, ctx.registry, {
    logger: ctx.logger,
    signal: ctx.signal,
  });
  const info = await presentImage(
    machine.engine,
    registryDigestRef(pullAddress ?? ctx.registry, pushed.repo, pushed.digest),
    machine.id,
  );
  // What Docker would run by default: the engine may have to write the command line itself.
  const config = (await ctx.imageSource.getImage(ref).inspect()).Config;
  return {
    ...info,
    command: { entrypoint: asList(config?.Entrypoint), cmd: asList(config?.Cmd) },
  };
}

/** Docker writes ENTRYPOINT and CMD as a list, a string (shell form, old images) or null. */
function asList(v: string | string[] | null | undefined): string[] {
  return Array.isArray(v) ? v : typeof v === 'string' && v ? ['/bin/sh', '-c', v] : [];
}

/**
 * A remote machine gets the image by digest from the run's registry where it reaches it,
 * else over its SSH connection (save|load); this machine's own engine has it already.
 */
async function bringImage(
  machine: Machine,
  docker: Docker,
  ref: string,
  ctx: SetupContext,
  registry?: { push: string; pull: string },
): Promise<void> {
  if (!machine.ssh || !ctx.imageSource) return;
  const got = await ensureImage(docker, ref, {
    source: ctx.imageSource,
    machine: machine.id,
    ...(registry ? { registry } : {}),
    logger: ctx.logger,
    signal: ctx.signal,
  });
  if (got.via === 'registry')
    ctx.logger.info(`pulled image ${ref} on ${machine.id} by digest ${got.digest} (${got.ms} ms)`);
  else if (got.via === 'save-load')
    ctx.logger.info(
      `shipped image ${ref} to ${machine.id} (save|load, ${got.ms} ms)${got.fallback ? `: ${got.fallback}` : ''}`,
    );
}

/**
 * Takes the machine's hardware fingerprint (the probe image brought like benchmark images,
 * never pulled). A machine without one still runs: what went wrong is a warning, and only
 * cancelling the run throws.
 */
export async function takeFingerprint(
  machine: Machine,
  image: string,
  ctx: SetupContext & { session: string },
): Promise<HashedFingerprint | undefined> {
  const t0 = ctx.clock.now();
  // The probe reads the host through a Docker engine's mounts; other engines have what
  // their provider knows of the machine.
  const docker = dockerOf(machine.engine);
  if (!docker) return factsFingerprint(machine, ctx.clock.now());
  try {
    await bringImage(machine, docker, image, ctx);
    // A missing probe image is a skipped fingerprint, not a half-empty one.
    await presentImage(machine.engine, image, machine.id);
    const fp = await collectFingerprint(docker, {
      image,
      signal: ctx.signal,
      timeoutMs: FINGERPRINT_TIMEOUT_MS,
      labels: ownerLabels(ctx.session, machine.id),
      logger: ctx.logger,
      clock: ctx.clock,
    });
    // Without the probe's sections the hash would say nothing about the hardware.
    if (!fp.cpu) throw new Error(fp.problems.join('; ') || 'the probe printed nothing');
    const hash = fingerprintHash(fp);
    ctx.logger.debug(`fingerprint of ${machine.id}: ${hash}`, {
      ms: ctx.clock.now() - t0,
      problems: fp.problems,
    });
    return { hash, fp, collectedAt: new Date(ctx.clock.now()).toISOString() };
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    ctx.logger.warn(`no hardware fingerprint for ${machine.id}: ${errorMessage(err)}`);
    return undefined;
  }
}

/** What the stores keep about a machine of a run; `provision` in epoch ms, stored as ms since `requested`. */
export function machineRecord(
  machine: Machine,
  target: string,
  hw: HashedFingerprint,
  runId: string,
  provision: Partial<Record<ProvisionStep, number>> = {},
): MachineRecord {
  const since = provisionSince(provision);
  return {
    runId,
    machineId: machine.id,
    target,
    provider: machine.provider,
    instanceType: machine.instanceType,
    ...(machine.region ? { region: machine.region } : {}),
    ...(machine.zone ? { zone: machine.zone } : {}),
    hostname: machine.hostname,
    fingerprint: hw.hash,
    collectedAt: hw.collectedAt,
    hardware: hw.fp,
    ...(machine.placement ? { placement: machine.placement } : {}),
    ...(since ? { provision: since } : {}),
  };
}

/** Each step reached, in ms since `requested` (whole ms, in step order); none without `requested`. */
export function provisionSince(
  at: Partial<Record<ProvisionStep, number>>,
): Partial<Record<ProvisionStep, number>> | undefined {
  const t0 = at.requested;
  if (t0 === undefined) return undefined;
  const since: Partial<Record<ProvisionStep, number>> = {};
  for (const step of PROVISION_STEPS) if (at[step] !== undefined) since[step] = Math.round(at[step] - t0);
  return since;
}

/**
 * A machine no probe can run on (a cluster node behind its API): what its provider knows
 * (the node's CPUs, memory, kernel, GPUs by model), said to be only that.
 */
export function factsFingerprint(machine: Machine, now: number): HashedFingerprint | undefined {
  const hw = machine.hardware;
  if (!hw) return undefined;
  const gpus = (hw.gpus ?? []).flatMap((g) =>
    Array.from({ length: g.count }, (_, index) => ({
      index,
      model: g.model,
      source: 'provider' as const,
      ...(g.memoryMiB ? { memoryTotalBytes: g.memoryMiB * 2 ** 20 } : {}),
      ...(g.driver ? { driverVersion: g.driver } : {}),
    })),
  );
  const fp: Fingerprint = {
    ...(hw.memoryBytes ? { memory: { totalBytes: hw.memoryBytes } } : {}),
    ...(hw.kernel ? { kernel: hw.kernel } : {}),
    gpus,
    problems: [
      `no hardware probe on a ${machine.engine.kind} engine: only what the ${machine.provider} provider reports (${hw.cpuCores ?? '?'} CPUs allocatable)`,
    ],
  };
  return { hash: fingerprintHash(fp), fp, collectedAt: new Date(now).toISOString() };
}
