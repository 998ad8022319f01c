import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditEntry, AuditSink } from './audit-sink.js';

interface Pending {
  readonly line: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * An append-only JSON Lines file with group commit: concurrent appends share one write and
 * one fsync. It stands in until the Merkle log replaces it behind the same port.
 */
export class JsonlAuditSink implements AuditSink {
  readonly #file: string;
  #handle: FileHandle | undefined;
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;

  constructor(file: string) {
    this.#file = file;
  }

  async open(): Promise<this> {
    await mkdir(dirname(this.#file), { recursive: true, mode: 0o700 });
    this.#handle = await open(this.#file, 'a', 0o600);
    return this;
  }

  append(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ line: `${JSON.stringify(entry)}\n`, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  async close(): Promise<void> {
    await this.#flushing;
    await this.#handle?.close();
    this.#handle = undefined;
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        if (this.#handle === undefined) throw new Error('audit sink is closed');
        await this.#handle.write(batch.map((p) => p.line).join(''));
        await this.#handle.sync();
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.#flushing = undefined;
  }
}
