import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirectoryOf, removeFileDurably, writeFileDurably } from '../config/master-key-files.js';
import { LedgerError } from './ledger-errors.js';
import {
  canonicalJson,
  loadNoteSigner,
  NoteError,
  type NoteSigner,
  type NoteVerifier,
  openNote,
  parseVerifierKey,
} from './note/index.js';

/** The log entry that announces a log's new signing key. */
export const KEY_ROTATION_ENTRY = 'log.key-rotation';
/** The first line of the announcement, a signed note carried in the entry. */
const ANNOUNCEMENT_HEADER = 'glasshouse/log-key-rotation/v1';

/** A node's signing-key files in `keys/`. */
export interface LogKeyFiles {
  /** `<node>.ed25519.pem`: the key in use (during a rotation: the key being replaced). */
  readonly current: string;
  /** `<node>.ed25519.next.pem`: the new key, during a rotation. */
  readonly next: string;
  /** `<node>.log-key-rotation.json`: where a rotation stands. */
  readonly state: string;
}

export function logKeyFiles(keysDir: string, node: string): LogKeyFiles {
  return {
    current: join(keysDir, `${node}.ed25519.pem`),
    next: join(keysDir, `${node}.ed25519.next.pem`),
    state: join(keysDir, `${node}.log-key-rotation.json`),
  };
}

/** A rotation: generated (the next key exists), then announced (its entry is in the log). */
export interface LogKeyRotationState {
  /** Verifier keys, `name+keyid+base64`. */
  readonly from: string;
  readonly to: string;
  readonly overlapMs: number;
  /** The journal's size before the announcement was appended: where a resumed run looks for it. */
  readonly logSizeBefore: number;
  /** Set once the announcement is durable in the log. */
  readonly announcedAt?: number;
  readonly overlapUntil?: string;
}

export function readLogKeyRotation(files: LogKeyFiles): LogKeyRotationState | undefined {
  if (!existsSync(files.state)) return undefined;
  return JSON.parse(readFileSync(files.state, 'utf8')) as LogKeyRotationState;
}

/**
 * The keys that sign a checkpoint made at `now` (ms since the epoch), in signature order:
 * the node's key; during an announced rotation's overlap, the old key and then the new one;
 * after it, the new key alone. Read from the files at each call, so that a serving process
 * follows a rotation that `ledger rotate-key` made beside it.
 */
export function logSigningKeys(files: LogKeyFiles, name: string, now: number): NoteSigner[] {
  const load = (file: string) => loadNoteSigner(readFileSync(file, 'utf8'), name);
  const state = readLogKeyRotation(files);
  if (state?.announcedAt === undefined || state.overlapUntil === undefined) return [load(files.current)];
  // Promoted already (the next file became the current one), but the state not yet removed.
  if (!existsSync(files.next)) return [load(files.current)];
  if (now < Date.parse(state.overlapUntil)) return [load(files.current), load(files.next)];
  return [load(files.next)];
}

/** Signs `text` with every signer: one note, one signature line each, in the order given. */
export function signWithAll(signers: readonly NoteSigner[], text: string): string {
  const [first, ...others] = signers;
  if (first === undefined) throw new LedgerError('LOG_KEY_MISSING', 'no key to sign with');
  const lines = others.map((signer) => signer.sign(text).slice(text.length + 1));
  return first.sign(text) + lines.join('');
}

export interface RotateLogKeyOptions {
  readonly files: LogKeyFiles;
  /** The log's origin: the name of its keys. */
  readonly origin: string;
  readonly log: {
    size(): Promise<number>;
    readEntries(from: number, to: number): Promise<Buffer[]>;
    appendBytes(entry: Uint8Array): Promise<number>;
  };
  readonly overlapMs: number;
  readonly now: () => Date;
  readonly actor: { readonly role: string; readonly token: string };
  /** Tests only: called after each durable step, so that a test can kill the process there. */
  readonly pause?: (step: 'generated' | 'appended') => Promise<void>;
}

export interface LogKeyRotationReport {
  readonly from: string;
  readonly to: string;
  readonly announcedAt: number;
  readonly overlapUntil: string;
  /** True when this run completed a rotation an earlier, interrupted run had begun. */
  readonly resumed: boolean;
  /** The key replaced by an earlier rotation whose overlap had ended, retired by this run. */
  readonly retired?: string;
}

/**
 * Rotates a log's signing key: a new key is written beside the old one, announced in the
 * log by an entry carrying a note signed by both keys, and from then on checkpoints are
 * signed by both until the overlap ends, then by the new key alone. Each step is durable
 * before the next, and a run interrupted anywhere is completed by the next run with the same
 * key (the announcement is looked for in the log before it is appended again).
 */
export async function rotateLogKey(options: RotateLogKeyOptions): Promise<LogKeyRotationReport> {
  const { files } = options;
  let state = readLogKeyRotation(files);
  let retired: string | undefined;
  if (state?.overlapUntil !== undefined) {
    if (options.now().getTime() < Date.parse(state.overlapUntil)) {
      throw new LedgerError(
        'LOG_KEY_ROTATION_UNDER_WAY',
        `the key of ${options.origin} is being rotated to ${state.to}; its overlap ends at ${state.overlapUntil}: rotate again after that`,
      );
    }
    retired = state.from;
    retireOldKey(files);
    state = undefined;
  }
  const resumed = state !== undefined;
  const current = loadNoteSigner(readFileSync(files.current, 'utf8'), options.origin);
  if (state === undefined || !existsSync(files.next)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileDurably(files.next, pem);
    state = {
      from: current.verifierKey,
      to: loadNoteSigner(pem, options.origin).verifierKey,
      overlapMs: options.overlapMs,
      logSizeBefore: await options.log.size(),
    };
    writeFileDurably(files.state, `${JSON.stringify(state, null, 2)}\n`);
    await options.pause?.('generated');
  }
  const next = loadNoteSigner(readFileSync(files.next, 'utf8'), options.origin);
  if (next.verifierKey !== state.to) {
    throw new LedgerError(
      'LOG_KEY_MISSING',
      `${files.next} is not the key ${state.to} the rotation announces`,
    );
  }

  let announced = await findAnnouncement(options, state);
  if (announced === undefined) {
    const overlapUntil = new Date(options.now().getTime() + state.overlapMs).toISOString();
    const announcement = signWithAll(
      [current, next],
      formatAnnouncement({ from: state.from, to: state.to, overlapUntil }),
    );
    const entry = {
      type: KEY_ROTATION_ENTRY,
      time: options.now().toISOString(),
      actor: options.actor,
      from: state.from,
      to: state.to,
      overlapUntil,
      announcement,
    };
    const index = await options.log.appendBytes(Buffer.from(canonicalJson(entry), 'utf8'));
    announced = { index, overlapUntil };
    await options.pause?.('appended');
  }
  writeFileDurably(
    files.state,
    `${JSON.stringify({ ...state, announcedAt: announced.index, overlapUntil: announced.overlapUntil }, null, 2)}\n`,
  );
  return {
    from: state.from,
    to: state.to,
    announcedAt: announced.index,
    overlapUntil: announced.overlapUntil,
    resumed,
    ...(retired === undefined ? {} : { retired }),
  };
}

/** The new key becomes `<node>.ed25519.pem` (the old key file is replaced), then the state goes. */
function retireOldKey(files: LogKeyFiles): void {
  if (existsSync(files.next)) {
    renameSync(files.next, files.current);
    fsyncDirectoryOf(files.current);
  }
  removeFileDurably(files.state);
}

async function findAnnouncement(
  options: RotateLogKeyOptions,
  state: LogKeyRotationState,
): Promise<{ index: number; overlapUntil: string } | undefined> {
  const size = await options.log.size();
  const entries = await options.log.readEntries(state.logSizeBefore, size);
  for (const [i, bytes] of entries.entries()) {
    const link = keyRotationIn(bytes);
    if (link?.to.verifierKey === state.to) {
      return { index: state.logSizeBefore + i, overlapUntil: link.overlapUntil };
    }
  }
  return undefined;
}

function formatAnnouncement(a: { from: string; to: string; overlapUntil: string }): string {
  return `${ANNOUNCEMENT_HEADER}\nfrom ${a.from}\nto ${a.to}\noverlap-until ${a.overlapUntil}\n`;
}

/** Two keys of one log, linked by an announcement that both signed. */
export interface KeyLink {
  readonly from: NoteVerifier & { readonly verifierKey: string };
  readonly to: NoteVerifier & { readonly verifierKey: string };
  readonly overlapUntil: string;
}

/**
 * The key rotation a log entry announces, if it is one whose note both keys signed (the old
 * key vouches for the new one, the new key proves it is held); `undefined` for any other entry.
 */
export function keyRotationIn(entry: Uint8Array): KeyLink | undefined {
  const bytes = Buffer.from(entry.buffer, entry.byteOffset, entry.byteLength);
  if (!bytes.includes(KEY_ROTATION_ENTRY)) return undefined;
  let parsed: { type?: unknown; announcement?: unknown };
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as typeof parsed;
  } catch {
    return undefined;
  }
  if (parsed.type !== KEY_ROTATION_ENTRY || typeof parsed.announcement !== 'string') return undefined;
  const text = parsed.announcement.slice(0, parsed.announcement.lastIndexOf('\n\n') + 1);
  const match = /^glasshouse\/log-key-rotation\/v1\nfrom (\S+)\nto (\S+)\noverlap-until (\S+)\n$/.exec(text);
  if (match === null) return undefined;
  try {
    const from = { ...parseVerifierKey(match[1]!), verifierKey: match[1]! };
    const to = { ...parseVerifierKey(match[2]!), verifierKey: match[2]! };
    if (from.name !== to.name) return undefined;
    openNote(parsed.announcement, [from]);
    openNote(parsed.announcement, [to]);
    return { from, to, overlapUntil: match[3]! };
  } catch (error) {
    if (error instanceof NoteError) return undefined;
    throw error;
  }
}

/**
 * The keys a verifier who trusts `given` trusts in a log with these rotations: `given`, and
 * every key linked to a trusted key by an announcement both signed, transitively.
 */
export function followKeyLinks(
  given: NoteVerifier,
  links: readonly KeyLink[],
): { trusted: NoteVerifier[]; learned: string[] } {
  const label = (v: NoteVerifier) => `${v.name}+${v.keyId.toString('hex')}+${v.publicKey.toString('hex')}`;
  const trusted = new Map<string, NoteVerifier>([[label(given), given]]);
  const learned: string[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    for (const link of links) {
      for (const [known, other] of [
        [link.from, link.to],
        [link.to, link.from],
      ] as const) {
        if (trusted.has(label(known)) && !trusted.has(label(other))) {
          trusted.set(label(other), other);
          learned.push(other.verifierKey);
          changed = true;
        }
      }
    }
  }
  return { trusted: [...trusted.values()], learned };
}
