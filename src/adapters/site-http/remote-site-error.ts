import { GlasshouseError } from '../../shared/errors.js';

/**
 * A refusal a remote site answered, with the site's code, message and details: `problem.ts`
 * maps it to the same status as the error the site raised, and code checks (`error.code ===
 * 'STATS_CLOSED'`) hold across the wire as in process.
 */
export class RemoteSiteError extends GlasshouseError<string> {
  readonly site: string;

  constructor(
    site: string,
    code: string,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.site = site;
  }
}
