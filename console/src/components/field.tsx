import { type ReactNode, useId } from 'react';
import { ApiProblem } from '../api/problem';

/**
 * A labelled form control with the API's message for it, when the last answer named it. The
 * control is given its id and `aria-describedby` through the render prop.
 */
export function Field({
  label,
  name,
  error,
  hint,
  children,
}: {
  readonly label: string;
  /** The API's name of the field, as a validation error names it. */
  readonly name: string;
  readonly error?: unknown;
  readonly hint?: string;
  readonly children: (control: {
    id: string;
    name: string;
    'aria-describedby'?: string;
    'aria-invalid'?: boolean;
  }) => ReactNode;
}) {
  const id = useId();
  const message = error instanceof ApiProblem ? error.fieldMessage(name) : undefined;
  const describedBy = [hint === undefined ? '' : `${id}-hint`, message === undefined ? '' : `${id}-error`]
    .filter(Boolean)
    .join(' ');
  return (
    <div className={message === undefined ? 'field' : 'field field-invalid'}>
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        name,
        ...(describedBy === '' ? {} : { 'aria-describedby': describedBy }),
        ...(message === undefined ? {} : { 'aria-invalid': true }),
      })}
      {hint === undefined ? null : (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {message === undefined ? null : (
        <p className="field-error" id={`${id}-error`}>
          {message}
        </p>
      )}
    </div>
  );
}
