export { machineInfo, describeMachine, type MachineInfo, type MachineInfoOptions } from './machine';
export { percentile, summarize } from './stats';
export {
  lineChart,
  barChart,
  stackSvgs,
  type Series,
  type ReferenceLine,
  type LineChartOptions,
  type BarChartOptions,
} from './charts';
export { PALETTE, SECONDS_STEPS, escapeXml, niceStep, formatTick, formatValue } from './svg';
export { markdownTable } from './markdown';
export { writeReport, formatWithPrettier, type WriteReportOptions } from './write-report';
export { progressBar } from './progress';
export {
  parseCompareSides,
  medianOf,
  formatSpread,
  renderCompareSides,
  type CompareSide,
  type CompareMetric,
} from './compare-sides';
