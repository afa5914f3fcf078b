/**
 * The real services the integration and e2e tests use, as `scripts/services up` starts
 * them. Tests fail (never skip) when a service is missing: CI must exercise them.
 */
import Docker from 'dockerode';
import { Client } from '@elastic/elasticsearch';

export const ES_URL = process.env.BENCHYARD_TEST_ES_URL ?? 'http://127.0.0.1:9200';
export const BENCH_IMAGE = 'benchyard/bench-tools:1';

export function docker(): Docker {
  return new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });
}

export function esClient(): Client {
  return new Client({ node: ES_URL });
}

/** Ids of containers benchyard created (by label), e.g. to check none was left behind. */
export async function managedContainers(d: Docker, runId?: string): Promise<string[]> {
  const label = runId ? [`io.benchyard.run=${runId}`] : ['io.benchyard.managed=true'];
  return (await d.listContainers({ all: true, filters: { label } })).map((c) => c.Id);
}

export async function waitForCount(
  es: Client,
  index: string,
  query: object,
  expected: number,
): Promise<number> {
  let count = -1;
  for (let i = 0; i < 50 && count < expected; i++) {
    await es.indices.refresh({ index, ignore_unavailable: true, expand_wildcards: 'all' } as never);
    count = (await es.count({ index, query } as never)).count;
    if (count < expected) await new Promise((r) => setTimeout(r, 200));
  }
  return count;
}
