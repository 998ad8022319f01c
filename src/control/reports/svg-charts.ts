/** Small inline SVG charts: no script, no external resource, readable without colour. */

export interface Bar {
  readonly label: string;
  readonly value: number;
}

const escapeXml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** Horizontal bars, one per row, with the value written at the end of each bar. */
export function barChart(title: string, bars: readonly Bar[]): string {
  const row = 22;
  const labelWidth = 170;
  const width = 640;
  const barSpace = width - labelWidth - 60;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = Math.max(row, bars.length * row) + 8;
  const rows = bars.map((b, i) => {
    const y = 4 + i * row;
    const w = Math.round((b.value / max) * barSpace);
    return (
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(b.label)}</text>` +
      `<rect x="${labelWidth}" y="${y + 3}" width="${w}" height="${row - 6}" class="bar"/>` +
      `<text x="${labelWidth + w + 6}" y="${y + 15}">${b.value}</text>`
    );
  });
  return svg(title, width, height, rows.join(''));
}

const LEGEND_COLUMNS = 2;

export interface Segment {
  readonly label: string;
  readonly value: number;
  /** A CSS class giving the segment its colour (`s0` to `s6`). */
  readonly tone: string;
}

/** One stacked bar per group, with a legend: shares of a partition. */
export function stackedChart(
  title: string,
  groups: readonly { label: string; segments: readonly Segment[] }[],
): string {
  const row = 30;
  const labelWidth = 170;
  const width = 640;
  const barSpace = width - labelWidth - 20;
  const legend = groups[0]?.segments ?? [];
  const legendRows = Math.ceil(legend.length / LEGEND_COLUMNS);
  const height = groups.length * row + legendRows * 20 + 16;
  const bars = groups.map((g, i) => {
    const y = 4 + i * row;
    const total = g.segments.reduce((s, x) => s + x.value, 0);
    let x = labelWidth;
    const parts = g.segments
      .filter((s) => s.value > 0)
      .map((s) => {
        const w = total === 0 ? 0 : (s.value / total) * barSpace;
        const rect = `<rect x="${x.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${row - 10}" class="${s.tone}"><title>${escapeXml(`${g.label}: ${s.label} ${s.value}`)}</title></rect>`;
        x += w;
        return rect;
      });
    return `<text x="${labelWidth - 8}" y="${y + 20}" text-anchor="end">${escapeXml(g.label)}</text>${parts.join('')}`;
  });
  const top = groups.length * row + 10;
  const keys = legend.map((s, i) => {
    const x = (i % LEGEND_COLUMNS) * 310 + 10;
    const y = top + Math.floor(i / LEGEND_COLUMNS) * 20;
    return `<rect x="${x}" y="${y}" width="12" height="12" class="${s.tone}"/><text x="${x + 18}" y="${y + 11}">${escapeXml(s.label)}</text>`;
  });
  return svg(title, width, height, bars.join('') + keys.join(''));
}

function svg(title: string, width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeXml(title)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">` +
    `<title>${escapeXml(title)}</title>${body}</svg>`
  );
}
