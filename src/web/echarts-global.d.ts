// The page loads Apache ECharts as a classic script (dist/echarts.min.js), which sets a global.
import type * as EChartsModule from 'echarts';

declare global {
  const echarts: typeof EChartsModule;
}
