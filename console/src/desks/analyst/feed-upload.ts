import { ApiProblem } from '../../api/problem';
import type { ImportResult } from './types';

// Where the session keeps the tab's token (see session.tsx). fetch reports no upload
// progress, so the feed goes with XMLHttpRequest and the same bearer token.
const TOKEN_KEY = 'glasshouse.token';

export interface FeedUpload {
  readonly file: Blob;
  readonly contentType: 'application/x-ndjson' | 'text/csv';
  readonly skipBad: boolean;
  readonly source: string;
  readonly onProgress: (sent: number, total: number) => void;
}

/** `POST /v1/verdicts/import` with the file as the body, reporting bytes sent as they go. */
export function uploadFeed(upload: FeedUpload): Promise<ImportResult> {
  const params = new URLSearchParams();
  if (upload.skipBad) params.set('skipBad', 'true');
  if (upload.source !== '') params.set('source', upload.source);
  const query = params.toString();
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', `/v1/verdicts/import${query === '' ? '' : `?${query}`}`);
    request.setRequestHeader('accept', 'application/json');
    request.setRequestHeader('content-type', upload.contentType);
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token !== null) request.setRequestHeader('authorization', `Bearer ${token}`);
    request.upload.onprogress = (event) => {
      upload.onProgress(event.loaded, event.lengthComputable ? event.total : upload.file.size);
    };
    request.onload = () => {
      const body = parsed(request.responseText);
      if (request.status >= 200 && request.status < 300) {
        resolve(body as unknown as ImportResult);
        return;
      }
      reject(
        new ApiProblem(
          request.status,
          body ?? {
            title: request.statusText || `HTTP ${request.status}`,
            detail: request.responseText.slice(0, 200),
          },
        ),
      );
    };
    request.onerror = () => reject(new Error('the upload did not reach the server'));
    request.onabort = () => reject(new Error('the upload was stopped'));
    request.send(upload.file);
  });
}

function parsed(text: string): Record<string, unknown> | undefined {
  try {
    const body = JSON.parse(text) as unknown;
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The feed's format from its name; NDJSON unless it is a `.csv`. */
export function feedTypeOf(name: string): FeedUpload['contentType'] {
  return name.toLowerCase().endsWith('.csv') ? 'text/csv' : 'application/x-ndjson';
}
