import type { StatusPoint } from './api';

const SERIES = [
  { key: 'CONFIRMED', label: 'confirmed' },
  { key: 'CANCELLED', label: 'cancelled' },
  { key: 'PENDING', label: 'pending' },
] as const;
const WIDTH = 480;
const HEIGHT = 140;
const PAD = { left: 36, right: 8, top: 8, bottom: 20 };

/** Orders by status over the last minutes: one line per status, hand-drawn SVG. */
export function StatusChart({ points }: { points: StatusPoint[] }) {
  const last = points.at(-1);
  if (!last) return <p className="muted">orders has not answered /metrics yet.</p>;
  const t0 = Date.parse(points[0].at);
  const t1 = Math.max(Date.parse(last.at), t0 + 60_000);
  const max = Math.max(1, ...points.flatMap((p) => SERIES.map((s) => p[s.key])));
  const x = (at: string) => PAD.left + ((Date.parse(at) - t0) / (t1 - t0)) * (WIDTH - PAD.left - PAD.right);
  const y = (value: number) => HEIGHT - PAD.bottom - (value / max) * (HEIGHT - PAD.top - PAD.bottom);
  const minutes = Math.round((t1 - t0) / 60_000);
  return (
    <figure className="chart" data-testid="status-chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby="chart-title">
        <title id="chart-title">
          {`Orders by status over the last ${minutes} minute${minutes === 1 ? '' : 's'}: ${last.CONFIRMED} confirmed, ${last.CANCELLED} cancelled, ${last.PENDING} pending`}
        </title>
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(0)} y2={y(0)} className="axis" />
        <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(max)} y2={y(max)} className="grid" />
        <text x={PAD.left - 4} y={y(max) + 4} className="tick" textAnchor="end">
          {max}
        </text>
        <text x={PAD.left - 4} y={y(0) + 4} className="tick" textAnchor="end">
          0
        </text>
        <text x={PAD.left} y={HEIGHT - 4} className="tick">
          −{minutes} min
        </text>
        <text x={WIDTH - PAD.right} y={HEIGHT - 4} className="tick" textAnchor="end">
          now
        </text>
        {SERIES.map((series) => (
          <polyline
            key={series.key}
            className={`series series-${series.key.toLowerCase()}`}
            points={points.map((p) => `${x(p.at).toFixed(1)},${y(p[series.key]).toFixed(1)}`).join(' ')}
          />
        ))}
      </svg>
      <figcaption className="legend">
        {SERIES.map((series) => (
          <span key={series.key} className={`legend-item series-${series.key.toLowerCase()}`}>
            <span className="swatch" aria-hidden="true" />
            {series.label} <strong>{last[series.key]}</strong>
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
