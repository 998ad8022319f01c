import { formatDate, formatDateTime, formatNumber } from '../../components/format';
import type { Inventory, InventoryCategory } from './privacy-api';

const CATEGORY_LABELS: Record<string, string> = {
  registration: 'Registration',
  submissions: 'Submissions (with file names)',
  samples: 'Samples (file contents)',
  telemetry_events: 'Telemetry events',
  data_key: 'Data key',
};

/** The answer of an inventory request, as the user would read it: where, what, how many, how long. */
export function InventoryView({ inventory }: { readonly inventory: Inventory }) {
  return (
    <section aria-labelledby="privacy-answer">
      <h2 id="privacy-answer">Inventory</h2>
      <dl className="facts">
        <dt>Country</dt>
        <dd>{inventory.country}</dd>
        <dt>Product</dt>
        <dd>{inventory.product}</dd>
        <dt>Registered</dt>
        <dd>{formatDateTime(inventory.registeredAt)}</dd>
        <dt>Residency policy</dt>
        <dd>
          version {inventory.policy.version}
          {inventory.policy.effectiveFrom === null
            ? ''
            : `, in force from ${formatDate(inventory.policy.effectiveFrom)}`}
        </dd>
      </dl>
      <CategoryTable caption="Control plane" categories={inventory.control} />
      {inventory.sites.map((site) => (
        <CategoryTable
          key={site.site}
          caption={`Site ${site.site} (${site.jurisdiction}), since ${formatDate(site.since)}`}
          categories={site.categories}
        />
      ))}
    </section>
  );
}

function CategoryTable({
  caption,
  categories,
}: {
  readonly caption: string;
  readonly categories: readonly InventoryCategory[];
}) {
  return (
    <>
      <h3>{caption}</h3>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Data</th>
              <th scope="col" className="num">
                Records
              </th>
              <th scope="col">Since</th>
              <th scope="col">Kept</th>
            </tr>
          </thead>
          <tbody>
            {categories.map((c) => (
              <tr key={c.category}>
                <td>{CATEGORY_LABELS[c.category] ?? c.category}</td>
                <td className="num">{formatNumber(c.records)}</td>
                <td>{formatDate(c.since)}</td>
                <td>{c.retention}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
