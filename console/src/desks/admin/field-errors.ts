import { ApiProblem } from '../../api/problem';

/**
 * The API names an element of a list (`assign[0].countries[2]`) where the form has one control
 * for the whole list (`assign[0].countries`): the problem as seen by that control, so that
 * `Field` shows the message beside it.
 */
export function problemForList(error: unknown, field: string): unknown {
  if (!(error instanceof ApiProblem)) return error;
  const hit = error.fields.find((f) => f.field === field || f.field.startsWith(`${field}[`));
  if (hit === undefined || hit.field === field) return error;
  return new ApiProblem(error.status, { ...error.body, field, detail: hit.message });
}
