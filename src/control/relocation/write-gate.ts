/**
 * Keeps writes of an installation (uploads, events) from crossing the moment it switches
 * sites. A write `enter`s for its installations before it resolves their site and leaves
 * once stored; relocation `freeze`s a batch, which waits for the writes in flight and holds
 * new ones until it has copied the last records, verified them and switched the registry.
 * The frozen window is short: the bulk of the copy happens before it.
 *
 * @example
 * const leave = await gate.enter([installationId]);
 * try { await store(); } finally { leave(); }
 */
export class WriteGate {
  readonly #active = new Map<string, number>();
  readonly #frozen = new Map<string, Promise<void>>();
  readonly #drained = new Set<() => void>();

  async enter(installationIds: readonly string[]): Promise<() => void> {
    for (;;) {
      const waits = installationIds.map((id) => this.#frozen.get(id)).filter((w) => w !== undefined);
      if (waits.length === 0) break;
      await Promise.all(waits);
    }
    for (const id of installationIds) this.#active.set(id, (this.#active.get(id) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      for (const id of installationIds) {
        const n = (this.#active.get(id) ?? 1) - 1;
        if (n === 0) this.#active.delete(id);
        else this.#active.set(id, n);
      }
      for (const check of [...this.#drained]) check();
    };
  }

  /** Holds new writes of the installations and resolves once none is in flight; returns the thaw. */
  async freeze(installationIds: readonly string[]): Promise<() => void> {
    let thaw!: () => void;
    const frozen = new Promise<void>((resolve) => {
      thaw = resolve;
    });
    for (const id of installationIds) this.#frozen.set(id, frozen);
    await new Promise<void>((resolve) => {
      const check = () => {
        if (installationIds.every((id) => !this.#active.has(id))) {
          this.#drained.delete(check);
          resolve();
        }
      };
      this.#drained.add(check);
      check();
    });
    return () => {
      for (const id of installationIds) if (this.#frozen.get(id) === frozen) this.#frozen.delete(id);
      thaw();
    };
  }
}
