import { GlasshouseError } from '../../shared/errors.js';

export type ReportErrorCode =
  | 'INVALID_PERIOD'
  | 'INVALID_REPORT'
  | 'REPORT_MISMATCH'
  | 'INVALID_EXAMPLE_DATA'
  | 'REPORT_NOT_PUBLISHED';

export class ReportError extends GlasshouseError<ReportErrorCode> {}
