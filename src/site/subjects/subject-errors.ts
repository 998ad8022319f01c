import { GlasshouseError } from '../../shared/errors.js';

export type SubjectErrorCode = 'SUBJECT_NOT_AT_SITE';

export class SubjectError extends GlasshouseError<SubjectErrorCode> {}
