/**
 * How benchyard's pods are known again. Labels (what a list selects by; values limited to
 * 63 label characters, so a session that is not one is hashed) say managed-by, session,
 * role and ledger key; the owner annotation `benchyard.io/owner` carries the ledger key,
 * session, owner and expiry exactly, as JSON. Labels only find candidates: `gc` deletes a
 * pod only when its annotation, read back from the API server, carries the ledger entry's
 * key and session (`provesOwnership`) — anyone can copy labels.
 */
import { createHash, randomBytes } from 'node:crypto';
import { FIELD_MANAGER, type V1Pod } from './api.js';

export const K8S_LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  session: 'benchyard.io/session',
  role: 'benchyard.io/role',
  key: 'benchyard.io/key',
  /** On holders of exclusive targets: no other holder (of any session) shares their node. */
  exclusive: 'benchyard.io/exclusive',
} as const;

export const OWNER_ANNOTATION = 'benchyard.io/owner';
/** The container's own labels (run, cell, repetition, machine…) as JSON: label values cannot hold them. */
export const LABELS_ANNOTATION = 'benchyard.io/labels';
export const MANAGED_BY = 'benchyard';

export type PodRole = 'holder' | 'benchmark' | 'agent' | 'probe';

export interface PodOwner {
  key: string;
  session: string;
  owner: string;
  /** ISO 8601. */
  expiresAt: string;
}

const LABEL_VALUE = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;

/** A label value standing for `text`: itself where it is one, else `h-` and 16 hex of its sha256. */
export function labelValue(text: string): string {
  return LABEL_VALUE.test(text) ? text : `h-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

export function ownerLabelsOf(
  owner: Pick<PodOwner, 'key' | 'session'>,
  role: PodRole,
): Record<string, string> {
  return {
    [K8S_LABELS.managedBy]: MANAGED_BY,
    [K8S_LABELS.session]: labelValue(owner.session),
    [K8S_LABELS.role]: role,
    [K8S_LABELS.key]: labelValue(owner.key),
  };
}

/** Selects a session's pods (all roles). */
export function sessionSelector(session: string): string {
  return `${K8S_LABELS.managedBy}=${MANAGED_BY},${K8S_LABELS.session}=${labelValue(session)}`;
}

export const MANAGED_SELECTOR = `${K8S_LABELS.managedBy}=${MANAGED_BY}`;

export function encodeOwner(owner: PodOwner): string {
  return JSON.stringify({
    key: owner.key,
    session: owner.session,
    owner: owner.owner,
    expiresAt: owner.expiresAt,
  });
}

/** The owner a pod's annotation names; `undefined` for anything else (never throws). */
export function ownerOf(pod: V1Pod): PodOwner | undefined {
  const text = pod.metadata?.annotations?.[OWNER_ANNOTATION];
  if (typeof text !== 'string' || text.length > 4096) return undefined;
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (typeof o.key !== 'string' || typeof o.session !== 'string') return undefined;
    return {
      key: o.key,
      session: o.session,
      owner: typeof o.owner === 'string' ? o.owner : '',
      expiresAt: typeof o.expiresAt === 'string' ? o.expiresAt : '',
    };
  } catch {
    return undefined;
  }
}

/** Whether the pod, as read back, is benchyard's for this ledger entry: its annotation names the key and session. */
export function provesOwnership(pod: V1Pod, want: { key?: string; session?: string }): boolean {
  const o = ownerOf(pod);
  if (!o || !want.key) return false;
  if (pod.metadata?.labels?.[K8S_LABELS.managedBy] !== MANAGED_BY) return false;
  // Created by benchyard (the API server records the creating field manager; `kubectl
  // create` of a copied manifest records kubectl's).
  if (!pod.metadata?.managedFields?.some((f) => f.manager === FIELD_MANAGER)) return false;
  return o.key === want.key && (want.session === undefined || o.session === want.session);
}

/** The container labels a pod carries (its `benchyard.io/labels` annotation). */
export function containerLabelsOf(pod: V1Pod): Record<string, string> {
  const text = pod.metadata?.annotations?.[LABELS_ANNOTATION];
  if (typeof text !== 'string') return {};
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return {};
  }
}

/** A pod name: `by-<role>-<key>-<random>`, a DNS-1123 label (≤ 63, lowercase). */
export function podName(role: PodRole, key: string): string {
  const safeKey =
    key
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 32) || 'x';
  const prefix = role === 'benchmark' ? 'bench' : role;
  return `by-${prefix}-${safeKey}-${randomBytes(3).toString('hex')}`;
}
