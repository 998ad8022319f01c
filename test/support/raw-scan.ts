import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every regular file under `root`, recursively. */
export function filesUnder(root: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    const stat = statSync(path);
    if (stat.isDirectory()) files.push(...filesUnder(path));
    else if (stat.isFile()) files.push(path);
  }
  return files;
}

/**
 * The files of the data directory whose raw bytes contain any of `needles`, as
 * `relative path: needle label`. For "erasure leaves no trace": databases, their WAL files,
 * the blob store, the statistics files and the log tiles, byte for byte.
 */
export function filesContaining(root: string, needles: Readonly<Record<string, Buffer>>): string[] {
  const found: string[] = [];
  for (const file of filesUnder(root)) {
    const bytes = readFileSync(file);
    for (const [label, needle] of Object.entries(needles)) {
      if (bytes.includes(needle)) found.push(`${relative(root, file)}: ${label}`);
    }
  }
  return found;
}

/**
 * The forms an installation id may take on disk: its text, its 16 UUID bytes, and DuckDB's
 * UUID (a little-endian HUGEINT with the top bit flipped, lower half first).
 */
export function idNeedles(label: string, id: string): Record<string, Buffer> {
  const bytes = Buffer.from(id.replaceAll('-', ''), 'hex');
  const upper = Buffer.from(bytes.subarray(0, 8));
  upper[0] = upper[0]! ^ 0x80;
  const duck = Buffer.concat([Buffer.from(bytes.subarray(8)).reverse(), upper.reverse()]);
  return {
    [`${label} (text)`]: Buffer.from(id, 'utf8'),
    [`${label} (uuid bytes)`]: bytes,
    [`${label} (duckdb uuid)`]: duck,
  };
}
