import { writeCsv } from '../../shared/csv.js';
import { ANNEX_A } from './annex-a.js';
import type { EvidencePeriod } from './evidence-period.js';
import type { EvidenceSection } from './evidence-sections.js';
import type { CheckpointEvidence } from './log-evidence.js';
import { renderEvidenceIndex } from './render-evidence-html.js';

export const EVIDENCE_FORMAT = 'glasshouse-evidence/1';

/** One file of the pack, by its path inside the pack (`/`-separated). */
export interface PackFile {
  readonly path: string;
  readonly content: Buffer;
}

/** `evidence.json`: what the pack holds, for a script (the same as index.html says). */
export interface EvidenceIndex {
  readonly format: typeof EVIDENCE_FORMAT;
  readonly deployment: string;
  readonly period: { readonly from: string; readonly to: string };
  readonly generatedAt: string;
  readonly sections: readonly {
    readonly id: string;
    readonly title: string;
    readonly controls: readonly { readonly id: string; readonly title: string }[];
    readonly rows: number;
    readonly entries: number;
    readonly files: { readonly csv: string; readonly json: string };
  }[];
  readonly checkpoints: readonly Omit<CheckpointEvidence, 'checkpoint'>[];
}

export interface EvidencePack {
  readonly index: EvidenceIndex;
  readonly files: readonly PackFile[];
}

/**
 * Lays the sections out as files an auditor opens with a browser, a spreadsheet or `jq`:
 * `index.html` (static, no script), `evidence.json`, per section `<id>.csv` (its rows) and
 * `<id>.json` (its rows, and its log entries each with an inclusion proof), and each node's
 * signed checkpoint in `checkpoints/<node>.checkpoint`.
 */
export function assemblePack(options: {
  readonly deployment: string;
  readonly period: EvidencePeriod;
  readonly generatedAt: string;
  readonly sections: readonly EvidenceSection[];
  readonly checkpoints: readonly CheckpointEvidence[];
}): EvidencePack {
  const { sections, checkpoints } = options;
  const files: PackFile[] = [];
  const text = (path: string, content: string) => files.push({ path, content: Buffer.from(content, 'utf8') });
  for (const section of sections) {
    text(
      `${section.id}.csv`,
      writeCsv([
        [...section.columns],
        ...section.rows.map((row) => section.columns.map((c) => row[c] ?? '')),
      ]),
    );
    text(
      `${section.id}.json`,
      `${JSON.stringify(
        {
          id: section.id,
          title: section.title,
          controls: section.controls.map((id) => ({ id, title: ANNEX_A[id] })),
          description: section.description,
          rows: section.rows,
          entries: section.entries,
        },
        null,
        2,
      )}\n`,
    );
  }
  for (const c of checkpoints) text(`checkpoints/${c.node}.checkpoint`, c.checkpoint);
  const index: EvidenceIndex = {
    format: EVIDENCE_FORMAT,
    deployment: options.deployment,
    period: { from: options.period.from, to: options.period.to },
    generatedAt: options.generatedAt,
    sections: sections.map((s) => ({
      id: s.id,
      title: s.title,
      controls: s.controls.map((id) => ({ id, title: ANNEX_A[id] })),
      rows: s.rows.length,
      entries: s.entries.length,
      files: { csv: `${s.id}.csv`, json: `${s.id}.json` },
    })),
    checkpoints: checkpoints.map(({ checkpoint: _note, ...rest }) => rest),
  };
  text('evidence.json', `${JSON.stringify(index, null, 2)}\n`);
  text('index.html', renderEvidenceIndex(index, sections));
  return { index, files };
}
