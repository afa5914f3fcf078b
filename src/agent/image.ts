/**
 * The agent image on one machine: `benchyard/agent:<content hash>` built from
 * images/agent/Dockerfile and the bundled agent script, once per machine and version
 * (an unchanged image is found by its tag and not rebuilt).
 */
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InfrastructureError, type Logger } from '../core/index.js';
import { buildImage, statusOf } from '../engine/index.js';

export interface AgentFiles {
  /** images/agent/Dockerfile */
  dockerfile: string;
  /** The bundled agent (dist/agent/agent.cjs). */
  bundle: string;
}

/** Used as the base where present (machines that cannot pull); else debian:bookworm-slim. */
const LOCAL_BASE = 'benchyard/base:bookworm';

export async function ensureAgentImage(
  docker: Docker,
  files: AgentFiles,
  opts: { logger: Logger; signal: AbortSignal },
): Promise<string> {
  const [dockerfile, bundle] = await Promise.all([
    readFile(files.dockerfile),
    readFile(files.bundle).catch(() => {
      throw new InfrastructureError(
        `the metrics agent is not built (${files.bundle} is missing): run 'npm run build'`,
      );
    }),
  ]);
  const tag = `benchyard/agent:${createHash('sha256').update(dockerfile).update(bundle).digest('hex').slice(0, 12)}`;
  if (await exists(docker, tag)) return tag;
  const context = await mkdtemp(path.join(os.tmpdir(), 'benchyard-agent-'));
  try {
    await copyFile(files.dockerfile, path.join(context, 'Dockerfile'));
    await copyFile(files.bundle, path.join(context, 'agent.cjs'));
    const buildargs = (await exists(docker, LOCAL_BASE)) ? { BASE: LOCAL_BASE } : undefined;
    await buildImage(docker, context, tag, { ...opts, ...(buildargs ? { buildargs } : {}) });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
  return tag;
}

async function exists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}
