import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Field } from '../../components/field';
import { ProblemMessage } from '../../components/problem-message';
import { useSession } from '../../session/session';
import { problemForList } from './field-errors';
import type { Policy, PolicyVersion } from './types';

interface Row {
  readonly key: number;
  readonly regions: string;
  readonly countries: string;
  readonly site: string;
}

let nextKey = 0;

function rowsOf(version: PolicyVersion | undefined, sites: readonly string[]): Row[] {
  if (version === undefined) return [{ key: nextKey++, regions: '', countries: '', site: sites[0] ?? '' }];
  return version.assign.map((a) => ({
    key: nextKey++,
    regions: a.regions.join(' '),
    countries: a.countries.join(' '),
    site: a.site,
  }));
}

/** Codes separated by spaces or commas, as typed. */
function listOf(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * A new version is a complete mapping (the default and every assignment), so the form starts
 * from the latest version and the admin changes what should change.
 */
export function PolicyVersionForm({ policy }: { readonly policy: Policy }) {
  const { api } = useSession();
  const queryClient = useQueryClient();
  const latest = policy.versions.at(-1);
  const [effectiveFrom, setEffectiveFrom] = useState('');
  const [fallback, setFallback] = useState(latest?.default ?? policy.sites[0] ?? '');
  const [rows, setRows] = useState<Row[]>(() => rowsOf(latest, policy.sites));

  const add = useMutation({
    mutationFn: () =>
      api.post<PolicyVersion>('/v1/policy/versions', {
        json: {
          // The picker gives a local wall time without a zone; the form says it is UTC.
          ...(effectiveFrom === '' ? {} : { effectiveFrom: `${effectiveFrom.slice(0, 16)}:00Z` }),
          default: fallback,
          assign: rows.map((r) => ({
            regions: listOf(r.regions),
            countries: listOf(r.countries),
            site: r.site,
          })),
        },
      }),
    onSuccess: () => {
      setEffectiveFrom('');
      void queryClient.invalidateQueries({ queryKey: ['policy'] });
    },
  });

  const update = (key: number, change: Partial<Row>) =>
    setRows((current) => current.map((r) => (r.key === key ? { ...r, ...change } : r)));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };

  return (
    <form onSubmit={submit} aria-labelledby="add-version" className="admin-form">
      <h2 id="add-version">Add a version</h2>
      <p className="hint">
        A version is a complete mapping: the default site and every assignment. A country named directly wins
        over a region that holds it. Regions: {Object.keys(policy.regions).join(', ')}.
      </p>
      <div className="form-row">
        <Field
          label="Effective from (UTC)"
          name="effectiveFrom"
          error={add.error}
          hint="Empty: now. Never before now nor before the latest version."
        >
          {(p) => (
            <input
              {...p}
              type="datetime-local"
              value={effectiveFrom}
              onChange={(e) => setEffectiveFrom(e.target.value)}
            />
          )}
        </Field>
        <Field label="Default site" name="default" error={add.error}>
          {(p) => (
            <select {...p} value={fallback} onChange={(e) => setFallback(e.target.value)}>
              {policy.sites.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <fieldset className="admin-assignments">
        <legend>Assignments</legend>
        {rows.map((row, i) => (
          <div className="form-row" key={row.key}>
            <Field
              label={`Regions, row ${i + 1}`}
              name={`assign[${i}].regions`}
              error={problemForList(add.error, `assign[${i}].regions`)}
            >
              {(p) => (
                <input
                  {...p}
                  value={row.regions}
                  onChange={(e) => update(row.key, { regions: e.target.value })}
                />
              )}
            </Field>
            <Field
              label={`Countries, row ${i + 1}`}
              name={`assign[${i}].countries`}
              error={problemForList(add.error, `assign[${i}].countries`)}
            >
              {(p) => (
                <input
                  {...p}
                  value={row.countries}
                  onChange={(e) => update(row.key, { countries: e.target.value })}
                />
              )}
            </Field>
            <Field label={`Site, row ${i + 1}`} name={`assign[${i}].site`} error={add.error}>
              {(p) => (
                <select {...p} value={row.site} onChange={(e) => update(row.key, { site: e.target.value })}>
                  {policy.sites.map((s) => (
                    <option key={s}>{s}</option>
                  ))}
                </select>
              )}
            </Field>
            <button
              type="button"
              className="secondary"
              aria-label={`Remove row ${i + 1}`}
              onClick={() => setRows((current) => current.filter((r) => r.key !== row.key))}
            >
              Remove
            </button>
          </div>
        ))}
        <button
          type="button"
          className="secondary"
          onClick={() =>
            setRows((current) => [...current, { key: nextKey++, regions: '', countries: '', site: fallback }])
          }
        >
          Add row
        </button>
      </fieldset>
      <ProblemMessage error={add.error} />
      {add.data === undefined || add.isError ? null : (
        <p className="notice" role="status">
          Version {add.data.version} added, effective from {add.data.effectiveFrom}.
        </p>
      )}
      <button type="submit" disabled={add.isPending}>
        Add version
      </button>
    </form>
  );
}
