// What the pack checks share: the pack, the trust it is checked under, each attestation as it is
// checked (an `Item`), and the problems found so far, each naming what it concerns.
import type { Bundle } from '@sigstore/bundle';
import type { LogKey } from '../signing/trust-material.ts';
import type { ParsedCheckpoint } from '../tlog/checkpoint.ts';
import type { AttestationReport, PackReport } from './report.ts';
import type { AttestationJson, PackJson } from './shape.ts';

/** One attestation of the pack, with what its checks learned from it. */
export interface Item {
  a: AttestationJson;
  report: AttestationReport;
  bundle: Bundle | null;
  statement: Record<string, unknown> | null;
  predicate: Record<string, unknown>;
  /** Subject sha256 hex digests. */
  subjects: string[];
  logIndex: number | null;
  integratedTime: number | null;
}

export function labelOf(role: string, id: string, environment: string | null): string {
  return `${role} ${id}${environment ? ` (${environment})` : ''}`;
}

export class PackContext {
  readonly problems: string[] = [];
  readonly items = new Map<string, Item>();
  /** Entries whose inclusion proof carries another checkpoint note than the pack's. */
  readonly otherCheckpoint: Item[] = [];
  /** Entries whose inclusion proof is for another tree head than the checkpoint's. */
  readonly otherRoot: Item[] = [];
  readonly borrowed: PackReport['borrowed'] = [];

  readonly pack: PackJson;
  readonly root: Record<string, unknown>;
  readonly logKeys: LogKey[];
  readonly checkpoint: ParsedCheckpoint | null;

  constructor(pack: PackJson, root: Record<string, unknown>, logKeys: LogKey[], checkpoint: ParsedCheckpoint | null) {
    this.pack = pack;
    this.root = root;
    this.logKeys = logKeys;
    this.checkpoint = checkpoint;
  }

  get issuer(): string {
    return this.pack.issuer.replace(/\/+$/, '');
  }

  get digestHex(): string {
    return this.pack.manifest.digest.slice('sha256:'.length);
  }

  problem(item: Item, message: string): void {
    item.report.problems.push(message);
    item.report.ok = false;
    this.problems.push(`${labelOf(item.a.role, item.a.id, item.a.environment)}: ${message}`);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Milliseconds since the epoch of an RFC 3339 string, or undefined. */
export function time(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}
