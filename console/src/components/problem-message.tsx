import { ApiProblem } from '../api/problem';

/**
 * An error as the API's problem document says it: title, detail and the fields it names.
 * Anything else (a network failure) is said as plainly; never a blank page or a stack.
 */
export function ProblemMessage({ error }: { readonly error: unknown }) {
  if (error === null || error === undefined) return null;
  if (error instanceof ApiProblem) {
    return (
      <div className="problem" role="alert">
        <p className="problem-title">
          {error.title} <span className="problem-code">({error.code})</span>
        </p>
        {error.detail === '' ? null : <p>{error.detail}</p>}
        {error.fields.length === 0 ? null : (
          <ul>
            {error.fields.map((f) => (
              <li key={`${f.field}:${f.message}`}>
                <code>{f.field}</code>: {f.message}
              </li>
            ))}
          </ul>
        )}
      </div>
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="problem" role="alert">
      <p className="problem-title">The request did not complete</p>
      <p>{message}</p>
    </div>
  );
}
