/** One sample of the Prometheus text format: `name{label="v",...} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples of `names` in a /metrics answer (comments and other metrics skipped). */
export function parsePrometheus(text: string, names: readonly string[]): Sample[] {
  const wanted = new Set(names);
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match || !wanted.has(match[1])) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[3] ?? '').matchAll(LABEL)) {
      labels[label[1]] = label[2].replace(/\\(["\\])/g, '$1').replace(/\\n/g, '\n');
    }
    const value = match[4] === 'NaN' ? NaN : Number(match[4]);
    samples.push({ name: match[1], labels, value });
  }
  return samples;
}

/** The value of the one sample of `name` (undefined when absent or not a number). */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.find(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  return found && Number.isFinite(found.value) ? found.value : undefined;
}
