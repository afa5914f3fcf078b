/** Reads runs and results back from Elasticsearch, so `compare` works on either store. */
import { Client } from '@elastic/elasticsearch';
import type { MetricSample, RepetitionResult, ResultQuery, ResultReader, RunRecord } from '../core/index.js';
import { resultFromDoc, runFromDoc } from './elasticsearch-docs.js';
import { esFailure } from './elasticsearch-store.js';
import { RESULTS_INDEX, RUNS_INDEX } from './elasticsearch-templates.js';

/** Most results one query returns; a run with more repetitions needs paging (not yet). */
const MAX_HITS = 10_000;

export class ElasticsearchReader implements ResultReader {
  private readonly client: Client;

  constructor(readonly url: string) {
    this.client = new Client({ node: url, requestTimeout: 30_000 });
  }

  async listRuns(limit = 50): Promise<RunRecord[]> {
    const res = await this.search(RUNS_INDEX, { match_all: {} }, limit, [
      { started_at: 'desc' },
      { 'run.id': 'desc' },
    ]);
    return res.map(runFromDoc);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const [doc] = await this.search(RUNS_INDEX, { term: { 'run.id': id } }, 1);
    return doc && runFromDoc(doc);
  }

  async listResults(q: ResultQuery): Promise<RepetitionResult[]> {
    const query = q.runId ? { term: { 'run.id': q.runId } } : { match_all: {} };
    const docs = await this.search(RESULTS_INDEX, query, MAX_HITS, [
      { started_at: 'asc' },
      { 'cell.id': 'asc' },
      { repetition: 'asc' },
    ]);
    return docs.map(resultFromDoc);
  }

  async listSamples(_q: ResultQuery): Promise<MetricSample[]> {
    throw new Error('reading metric samples from Elasticsearch is not supported yet');
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private async search(index: string, query: object, size: number, sort?: object[]): Promise<any[]> {
    try {
      const res = await this.client.search({
        index,
        query,
        size,
        ...(sort ? { sort } : {}),
        ignore_unavailable: true,
      } as never);
      return res.hits.hits.map((h) => h._source);
    } catch (err) {
      throw esFailure(`reading ${index} from Elasticsearch at ${this.url}`, err);
    }
  }
}
