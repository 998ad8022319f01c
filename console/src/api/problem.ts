/**
 * An RFC 9457 problem document as the API answers every error, kept whole so that a page can
 * show its title, its detail and, for a validation error, the field it is about.
 */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  /** The field a domain error names (`details.field`) or each field a validation error lists. */
  readonly fields: readonly FieldError[];
  readonly body: Readonly<Record<string, unknown>>;

  constructor(status: number, body: Readonly<Record<string, unknown>>) {
    const title = typeof body.title === 'string' ? body.title : `HTTP ${status}`;
    const detail = typeof body.detail === 'string' ? body.detail : '';
    super(detail === '' ? title : `${title}: ${detail}`);
    this.name = 'ApiProblem';
    this.status = status;
    this.code = typeof body.code === 'string' ? body.code : `HTTP_${status}`;
    this.title = title;
    this.detail = detail;
    this.fields = fieldsOf(body, detail);
    this.body = body;
  }

  /** The message for one form field, if the problem names it. */
  fieldMessage(field: string): string | undefined {
    return this.fields.find((f) => f.field === field)?.message;
  }
}

function fieldsOf(body: Readonly<Record<string, unknown>>, detail: string): FieldError[] {
  const fields: FieldError[] = [];
  if (Array.isArray(body.errors)) {
    for (const error of body.errors as unknown[]) {
      if (typeof error !== 'object' || error === null) continue;
      const { field, message } = error as { field?: unknown; message?: unknown };
      if (typeof field === 'string' && field !== '') {
        // Ajv's instance paths (`/requesterCountry`) name the same field as a form does.
        fields.push({ field: field.replace(/^\//, '').replaceAll('/', '.'), message: String(message ?? '') });
      }
    }
  }
  if (typeof body.field === 'string') fields.push({ field: body.field, message: detail });
  return fields;
}
