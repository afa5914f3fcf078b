/** Thins a time series for drawing without losing its peaks. Pure. */

/**
 * At most `max` points, in order: the series cut into max/2 buckets, each keeping its
 * lowest and highest point, so every spike and dip (and the global min and max) survives.
 */
export function downsampleMinMax(points: readonly [number, number][], max = 600): [number, number][] {
  if (points.length <= max) return points.map(([x, y]) => [x, y]);
  const buckets = Math.max(1, Math.floor(max / 2));
  const size = points.length / buckets;
  const out: [number, number][] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(points.length, Math.floor((b + 1) * size));
    if (to <= from) continue;
    let lo = from;
    let hi = from;
    for (let i = from + 1; i < to; i++) {
      if (points[i]![1] < points[lo]![1]) lo = i;
      if (points[i]![1] > points[hi]![1]) hi = i;
    }
    for (const i of lo === hi ? [lo] : [Math.min(lo, hi), Math.max(lo, hi)]) {
      const [x, y] = points[i]!;
      out.push([x, y]);
    }
  }
  return out;
}
