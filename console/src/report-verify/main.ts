import type { Bytes } from '../ledger/merkle.js';
import {
  type PageNumber,
  type PageVerification,
  VerificationError,
  verifyReportPage,
} from './verify-report-page.js';

/*
 * The `Verify` button of a published report page (`/reports/<period>/`): it reads what the page
 * claims (its numbers, checkpoint, log key and witnesses) and checks it against the public log.
 */

const section = document.getElementById('verify');
const button = document.getElementById('verify-button') as HTMLButtonElement | null;
const result = document.getElementById('verify-result');

if (section !== null && button !== null && result !== null) {
  button.hidden = false;
  button.disabled = false;
  button.addEventListener('click', () => {
    void run(section, button, result);
  });
}

async function run(section: HTMLElement, button: HTMLButtonElement, result: HTMLElement): Promise<void> {
  button.disabled = true;
  for (const marked of document.querySelectorAll('[data-mismatch]')) marked.removeAttribute('data-mismatch');
  const elements = [...document.querySelectorAll<HTMLElement>('[data-n]')];
  const numbers: PageNumber[] = elements.map((e) => ({
    path: e.dataset.n ?? '',
    text: e.textContent ?? '',
    ...(e.dataset.period === undefined ? {} : { period: e.dataset.period }),
    ...(e.dataset.absent === undefined ? {} : { absent: e.dataset.absent }),
  }));
  const log = new URL(section.dataset.log ?? '', document.baseURI);
  show(result, 'running', [`Checking against ${log.href} …`]);
  try {
    const verified = await verifyReportPage(
      {
        period: section.dataset.period ?? '',
        note: document.getElementById('checkpoint-note')?.textContent ?? '',
        key: section.dataset.key ?? '',
        witnessKeys: [...document.querySelectorAll<HTMLElement>('#witnesses [data-key]')].map(
          (e) => e.dataset.key ?? '',
        ),
        numbers,
      },
      (path) => fetchLogFile(new URL(path, log)),
      (message) => show(result, 'running', [`${message} …`]),
    );
    for (const m of verified.mismatches) elements[m.at]?.setAttribute('data-mismatch', '');
    show(result, verified.mismatches.length === 0 ? 'verified' : 'failed', describe(verified));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const files =
      error instanceof VerificationError && error.files.length > 0
        ? [`Files: ${error.files.join(', ')}`]
        : [];
    show(result, 'failed', [`Not verified: ${message}`, ...files]);
  } finally {
    button.disabled = false;
  }
}

async function fetchLogFile(url: URL): Promise<Bytes | undefined> {
  const response = await fetch(url, { cache: 'no-store' });
  if (response.status === 404) return undefined;
  if (!response.ok) throw new VerificationError(`GET ${url.href} answered ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function describe(v: PageVerification): string[] {
  const lines =
    v.mismatches.length === 0
      ? [`Verified: every one of the ${v.numbersChecked} numbers marked on this page equals the log’s.`]
      : [
          `Not verified: ${v.mismatches.length} of the ${v.numbersChecked} numbers differ from the log.`,
          ...v.mismatches.map(
            (m) =>
              `${m.period === undefined ? '' : `${m.period}: `}${m.path}: the page says ${m.page}, the log gives ${m.log}`,
          ),
        ];
  return [
    ...lines,
    `Checkpoint of ${v.origin} at ${v.size} entries, root ${v.rootHash}: signature valid; the entries hash to the root; ${v.tilesChecked} hash tiles match the entries and lead to the root.`,
    ...(v.cosignedBy.length === 0 && v.notCosignedBy.length === 0
      ? ['No witness is named for this checkpoint.']
      : []),
    ...v.cosignedBy.map((w) => `Cosigned by ${w.name} (key ID ${w.keyId}) at ${w.time}: cosignature valid.`),
    ...v.notCosignedBy.map((w) => `Not cosigned by ${w.name}: ${w.why}.`),
  ];
}

function show(result: HTMLElement, state: 'running' | 'verified' | 'failed', lines: readonly string[]): void {
  result.dataset.state = state;
  result.replaceChildren(
    ...lines.map((line) => {
      const p = document.createElement('p');
      p.textContent = line;
      return p;
    }),
  );
}
