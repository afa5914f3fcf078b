/**
 * Image references as benchyard uses them: `repo:tag` on an engine (`benchyard/bench-tools:1`),
 * `registry/repo:tag` to push, `registry/repo@sha256:…` to pull by content digest.
 */
import { InputError } from '../core/index.js';

export interface ImageRef {
  /** e.g. `benchyard/bench-tools` (no registry part) */
  repo: string;
  /** e.g. `1`; `latest` when the reference names none */
  tag: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Splits `repo[:tag]`; a reference that already names a registry or a digest is refused. */
export function parseRef(ref: string): ImageRef {
  if (ref.includes('@'))
    throw new InputError(`expected an image reference REPO[:TAG], got the digest reference '${ref}'`);
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const [repo, tag] = colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
  const first = repo.split('/')[0] ?? '';
  if (repo.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost'))
    throw new InputError(`expected an image reference without a registry, got '${ref}'`);
  if (
    !/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(repo) ||
    !/^[\w][\w.-]{0,127}$/.test(tag)
  )
    throw new InputError(`'${ref}' is not a valid image reference REPO[:TAG]`);
  return { repo, tag };
}

export function checkDigest(digest: string): string {
  if (!DIGEST.test(digest))
    throw new InputError(`expected a content digest sha256:<64 hex>, got '${digest}'`);
  return digest;
}

/** `registry/repo:tag`, what an engine pushes. */
export function registryTagRef(registry: string, ref: ImageRef): string {
  return `${registry}/${ref.repo}:${ref.tag}`;
}

/** `registry/repo@sha256:…`, what an engine pulls: the content, whatever tags say. */
export function registryDigestRef(registry: string, repo: string, digest: string): string {
  return `${registry}/${repo}@${checkDigest(digest)}`;
}

/** The digest of `repo` at `registry` among an image's RepoDigests, if it was pushed or pulled there. */
export function digestAt(
  repoDigests: readonly string[] | undefined,
  registry: string,
  repo: string,
): string | undefined {
  const prefix = `${registry}/${repo}@`;
  return repoDigests?.find((d) => d.startsWith(prefix))?.slice(prefix.length);
}
