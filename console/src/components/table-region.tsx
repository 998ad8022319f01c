import type { ReactNode } from 'react';

/**
 * A table that may scroll sideways on a narrow screen: a named region in the tab order, so
 * that a keyboard can scroll it too (the table itself may hold nothing focusable).
 */
export function TableRegion({ label, children }: { readonly label: string; readonly children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable to scroll by keyboard
    <section className="table-wrap" tabIndex={0} aria-label={label}>
      {children}
    </section>
  );
}
