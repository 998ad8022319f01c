import { InvalidArgumentError } from 'commander';

/** Gathers a repeatable option (`--witness A --witness B`) into a list. */
export function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A count of 1 or more, such as `--quorum`. */
export function toCount(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new InvalidArgumentError(`"${text}" is not a count of 1 or more`);
  return value;
}
