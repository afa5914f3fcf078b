/** What `perf:scale` measures besides CPU time and the profile: memory and HTTP requests. */
import diagnostics from 'node:diagnostics_channel';
import v8 from 'node:v8';
import vm from 'node:vm';

/** The most memory seen, sampled every 50 ms of real time (the kernel's peak RSS is added at the end). */
export function peakMemory() {
  const peak = { rss: 0, heap: 0 };
  const sample = () => {
    peak.rss = Math.max(peak.rss, process.memoryUsage.rss());
    peak.heap = Math.max(peak.heap, v8.getHeapStatistics().used_heap_size);
  };
  const timer = setInterval(sample, 50);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return { rss: Math.max(peak.rss, process.resourceUsage().maxRSS * 1024), heap: peak.heap };
    },
  };
}

/**
 * The JS heap still in use after a full collection: what the process keeps, where the peak
 * also counts garbage V8 had not collected yet (it collects lazily while it has room).
 */
export function liveHeapBytes(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  return v8.getHeapStatistics().used_heap_size;
}

/** HTTP requests made through undici (the Elasticsearch client's transport). */
export function countHttpRequests() {
  const counter = { n: 0, stop: () => diagnostics.unsubscribe('undici:request:create', count) };
  const count = () => counter.n++;
  diagnostics.subscribe('undici:request:create', count);
  return counter;
}
