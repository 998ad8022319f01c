import { ANNEX_A, type AnnexAControl } from './annex-a.js';
import type { EvidenceIndex } from './evidence-pack.js';
import type { EvidenceSection } from './evidence-sections.js';

/** Rows shown on the page per section; the CSV and JSON files hold all of them. */
const ROWS_SHOWN = 200;

/**
 * The pack's `index.html`: one static page, no script and no external resource (it opens
 * from a USB stick, under any content security policy), every value escaped.
 */
export function renderEvidenceIndex(index: EvidenceIndex, sections: readonly EvidenceSection[]): string {
  const controls = [...new Set(sections.flatMap((s) => s.controls))].sort(byControl);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Evidence pack ${esc(index.deployment)} ${esc(index.period.from)} to ${esc(index.period.to)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem;color:#111}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.85rem}
th,td{border:1px solid #999;padding:.2rem .4rem;text-align:left;vertical-align:top}
th{background:#eee}code{word-break:break-all}
</style>
</head>
<body>
<h1>Evidence pack: ${esc(index.deployment)}</h1>
<p>Period ${esc(index.period.from)} to ${esc(index.period.to)} (UTC, both days included); built ${esc(index.generatedAt)}. Every table is also a CSV file and a JSON file beside this page; <code>evidence.json</code> lists them.</p>
<h2>Controls (ISO/IEC 27001:2022 Annex A)</h2>
<table>
<thead><tr><th>Control</th><th>Title</th><th>Sections</th></tr></thead>
<tbody>
${controls
  .map(
    (c) =>
      `<tr><td>${esc(c)}</td><td>${esc(ANNEX_A[c])}</td><td>${sections
        .filter((s) => s.controls.includes(c))
        .map((s) => `<a href="#${esc(s.id)}">${esc(s.title)}</a>`)
        .join('<br>')}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>
${sections.map(renderSection).join('\n')}
<h2 id="verify">Verifying the log entries</h2>
<p>Each section's JSON file lists the log entries that prove it: the node, the entry's index, its exact text (<code>entryText</code>, canonical JSON), its leaf hash <code>SHA-256(0x00 || entryText)</code> and an inclusion proof (RFC 9162 §2.1.3.2, hashes in base64) at the tree size of the node's checkpoint. The signed checkpoints are in <code>checkpoints/</code> (C2SP tlog-checkpoint, signed notes with Ed25519); check their signatures with the node's verifier key, obtained from the operator out of band, and compare them with the checkpoints the witnesses cosigned or the log publishes at <code>/log/&lt;node&gt;/checkpoint</code>. Any RFC 9162 implementation verifies the proofs; no Glasshouse software is needed.</p>
</body>
</html>
`;
}

function renderSection(section: EvidenceSection): string {
  const shown = section.rows.slice(0, ROWS_SHOWN);
  return `<h2 id="${esc(section.id)}">${esc(section.title)}</h2>
<p>Evidences ${section.controls.map((c) => `${esc(c)} (${esc(ANNEX_A[c])})`).join(', ')}.</p>
<p>${esc(section.description)}</p>
<p>${section.rows.length} row(s), ${section.entries.length} log entr${section.entries.length === 1 ? 'y' : 'ies'} with inclusion proofs. Files: <a href="${esc(section.id)}.csv">${esc(section.id)}.csv</a>, <a href="${esc(section.id)}.json">${esc(section.id)}.json</a>.</p>
${
  shown.length === 0
    ? '<p>No rows for this period.</p>'
    : `<table>
<thead><tr>${section.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
<tbody>
${shown.map((row) => `<tr>${section.columns.map((c) => `<td>${esc(cell(row[c]))}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table>`
}${section.rows.length > shown.length ? `\n<p>The first ${ROWS_SHOWN} rows are shown; the CSV file holds all ${section.rows.length}.</p>` : ''}
${
  section.entries.length === 0
    ? ''
    : `<table>
<thead><tr><th>Node</th><th>Index</th><th>Tree size</th><th>Type</th><th>Time</th><th>Leaf hash</th></tr></thead>
<tbody>
${section.entries
  .slice(0, ROWS_SHOWN)
  .map(
    (e) =>
      `<tr><td>${esc(e.node)}</td><td>${e.index}</td><td>${e.treeSize}</td><td>${esc(cell(e.entry.type))}</td><td>${esc(cell(e.entry.time))}</td><td><code>${esc(e.leafHash)}</code></td></tr>`,
  )
  .join('\n')}
</tbody>
</table>`
}`;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function esc(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function byControl(a: AnnexAControl, b: AnnexAControl): number {
  const parts = (c: string) => c.slice(2).split('.').map(Number);
  const [a1 = 0, a2 = 0] = parts(a);
  const [b1 = 0, b2 = 0] = parts(b);
  return a1 - b1 || a2 - b2;
}
