import { GlasshouseError } from './errors.js';

export type CatalogueErrorCode = 'INVALID_TAG' | 'INVALID_COMMENT' | 'TOO_MANY_TAGS' | 'INVALID_TLSH';

/** Refusals of the sample catalogue (tags, comments, search), raised at the site or the control plane. */
export class CatalogueError extends GlasshouseError<CatalogueErrorCode> {}
