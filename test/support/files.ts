import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Every regular file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

/** Whether any file under `dir` contains `needle` (the raw bytes, as an attacker with the disk sees them). */
export function dataDirContains(dir: string, needle: Buffer): string | undefined {
  return filesUnder(dir).find((path) => readFileSync(path).includes(needle));
}

/** Extracts a zip with Debian's 7-Zip and the password `infected`; returns the entries. */
export function extractWith7z(zip: Buffer): Map<string, Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'glasshouse-7z-'));
  try {
    writeFileSync(join(dir, 'sample.zip'), zip);
    execFileSync('7z', ['x', '-pinfected', `-o${join(dir, 'out')}`, join(dir, 'sample.zip')], {
      stdio: 'pipe',
    });
    const out = join(dir, 'out');
    return new Map(readdirSync(out).map((name) => [name, readFileSync(join(out, name))]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What `7z l -slt` says about an archive (method, encryption). */
export function listWith7z(zip: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'glasshouse-7z-'));
  try {
    writeFileSync(join(dir, 'sample.zip'), zip);
    return execFileSync('7z', ['l', '-slt', '-pinfected', join(dir, 'sample.zip')], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
