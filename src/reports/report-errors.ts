import { GlasshouseError } from '../shared/errors.js';

export type ReportErrorCode =
  | 'INVALID_PERIOD'
  | 'INVALID_REPORT'
  | 'REPORT_MISMATCH'
  | 'INVALID_EXAMPLE_DATA';

export class ReportError extends GlasshouseError<ReportErrorCode> {}
