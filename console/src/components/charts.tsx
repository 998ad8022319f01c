import { formatNumber } from './format';

/**
 * Charts as inline SVG drawn from the numbers they show: no canvas, no library, nothing
 * fetched. Each is an image with a text alternative; the page shows the same numbers in a
 * table beside it, which is what a screen reader and a copy-paste use.
 */
export interface Bar {
  readonly label: string;
  readonly value: number;
}

/** Horizontal bars, one a row, for rankings (threats, countries). */
export function BarChart({ title, bars }: { readonly title: string; readonly bars: readonly Bar[] }) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const rowHeight = 22;
  const height = Math.max(rowHeight, bars.length * rowHeight);
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 600 ${height}`}
        role="img"
        aria-label={`${title}: ${describe(bars)}`}
        preserveAspectRatio="xMinYMin meet"
      >
        {bars.map((bar, i) => {
          const width = (bar.value / max) * 380;
          const y = i * rowHeight;
          return (
            <g key={bar.label}>
              <text x="150" y={y + 15} textAnchor="end" className="chart-label">
                {truncate(bar.label, 22)}
              </text>
              <rect
                x="158"
                y={y + 4}
                width={Math.max(1, width)}
                height={rowHeight - 8}
                className="chart-bar"
              />
              <text x={164 + width} y={y + 15} className="chart-value">
                {formatNumber(bar.value)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

/** Vertical columns in order, for series over time (detections by day). */
export function ColumnChart({ title, bars }: { readonly title: string; readonly bars: readonly Bar[] }) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const width = 600;
  const height = 200;
  const step = width / Math.max(1, bars.length);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={`${title}: ${describe(bars)}`}>
        {bars.map((bar, i) => {
          const h = (bar.value / max) * height;
          return (
            <rect
              key={bar.label}
              x={i * step + step * 0.1}
              y={height - h}
              width={step * 0.8}
              height={Math.max(1, h)}
              className="chart-bar"
            >
              <title>{`${bar.label}: ${formatNumber(bar.value)}`}</title>
            </rect>
          );
        })}
        {bars.length === 0 ? null : (
          <>
            <text x="0" y={height + 16} className="chart-label">
              {bars[0]!.label}
            </text>
            <text x={width} y={height + 16} textAnchor="end" className="chart-label">
              {bars[bars.length - 1]!.label}
            </text>
          </>
        )}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}

function describe(bars: readonly Bar[]): string {
  if (bars.length === 0) return 'no data';
  const shown = bars.slice(0, 5).map((b) => `${b.label} ${formatNumber(b.value)}`);
  return bars.length > 5 ? `${shown.join(', ')} and ${bars.length - 5} more` : shown.join(', ');
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
