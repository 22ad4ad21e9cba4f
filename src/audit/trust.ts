// The trust a pack is checked under: the trusted root the auditor brought (or, failing that, the
// pack's own), its log keys current and retired, and the pack's one checkpoint, signed by one of
// those keys while it was in service.
import { type LogKey, logKeysOf } from '../signing/trust-material.ts';
import { keyHint, type ParsedCheckpoint, parseCheckpoint, verifyCheckpoint } from '../tlog/checkpoint.ts';
import { reasonOf } from './bundles.ts';
import { bytesEqual, isObject, type PackContext, str } from './context.ts';
import type { PackReport, VerifyPackOptions } from './report.ts';
import type { PackJson } from './shape.ts';

export interface Trust {
  root: Record<string, unknown>;
  logKeys: LogKey[];
}

/** The certificate chains and log keys a root lists, by what they are (not by their windows). */
function keysOf(root: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  for (const t of Array.isArray(root.tlogs) ? root.tlogs : []) {
    if (isObject(t) && isObject(t.publicKey)) out.add(`tlog ${str(t.baseUrl)} ${str(t.publicKey.rawBytes)}`);
  }
  for (const ca of Array.isArray(root.certificateAuthorities) ? root.certificateAuthorities : []) {
    const chain = isObject(ca) && isObject(ca.certChain) ? ca.certChain.certificates : undefined;
    if (Array.isArray(chain)) out.add(`ca ${chain.map((c) => (isObject(c) ? str(c.rawBytes) : '')).join(',')}`);
  }
  return out;
}

/**
 * The root to check with: the one given, which must list every key the pack's own root lists (a
 * root served after a rotation lists the retired keys too, with their end), else the pack's own.
 */
export function chooseTrust(pack: PackJson, opts: VerifyPackOptions, report: PackReport): Trust | undefined {
  let root: Record<string, unknown> = pack.trustedRoot;
  if (opts.trustedRoot !== undefined) {
    let given: unknown = opts.trustedRoot;
    if (typeof given === 'string') {
      try {
        given = JSON.parse(given);
      } catch {
        given = undefined;
      }
    }
    if (!isObject(given)) {
      report.problems.push('trusted root: the one given is not a JSON object');
      return undefined;
    }
    const known = keysOf(given);
    const unknown = [...keysOf(pack.trustedRoot)].filter((k) => !known.has(k));
    if (unknown.length > 0) {
      report.problems.push(
        `trusted root: the pack's trustedRoot is not the trusted root given: it lists ${unknown.length} key(s) the ` +
          `given root does not (${unknown.map((k) => k.split(' ')[0]).join(', ')}), so the pack was made (or ` +
          `altered) under other keys; verifying with the given root`,
      );
    }
    root = given;
  }
  const issuerUrls = [
    ...(Array.isArray(root.tlogs) ? root.tlogs : []).map((t) => (isObject(t) ? str(t.baseUrl) : undefined)),
    ...(Array.isArray(root.certificateAuthorities) ? root.certificateAuthorities : []).map((ca) =>
      isObject(ca) ? str(ca.uri) : undefined,
    ),
  ].map((u) => u?.replace(/\/+$/, ''));
  if (!issuerUrls.includes(pack.issuer.replace(/\/+$/, ''))) {
    report.problems.push(
      `pack: issuer ${pack.issuer} is neither a log nor a certificate authority of the trusted root`,
    );
  }
  const logKeys = logKeysOf(root);
  if (logKeys.length === 0) report.problems.push('trusted root: no usable transparency-log key');
  return { root, logKeys };
}

/** The pack's checkpoint, and the log key that signed it (any key of the root, current or retired). */
export function checkCheckpoint(
  pack: PackJson,
  trust: Trust,
  report: PackReport,
): { checkpoint: ParsedCheckpoint | null; key: LogKey | undefined } {
  let checkpoint: ParsedCheckpoint;
  try {
    checkpoint = parseCheckpoint(pack.checkpoint);
  } catch (e) {
    report.problems.push(`checkpoint: does not parse: ${reasonOf(e)}`);
    return { checkpoint: null, key: undefined };
  }
  let key: LogKey | undefined;
  const sig = checkpoint.signatures[0];
  const candidates = sig
    ? trust.logKeys
        .filter((k) => k.baseUrl.includes(sig.name))
        // the key the hint names first, so that its failure is the one reported
        .sort(
          (a, b) =>
            Number(bytesEqual(keyHint(b.publicKey), sig.keyHint)) -
            Number(bytesEqual(keyHint(a.publicKey), sig.keyHint)),
        )
    : [];
  let why = sig ? `signed by ${sig.name}, which names no log of the trusted root` : 'no signature';
  for (const k of candidates) {
    try {
      verifyCheckpoint(pack.checkpoint, { name: sig!.name, publicKey: k.publicKey });
      key = k;
      break;
    } catch (e) {
      if (k === candidates[0]) why = reasonOf(e).replace(/^checkpoint: /, '');
    }
  }
  if (!key)
    report.problems.push(
      `checkpoint: the signature does not verify with the trusted root's log key (${why}): the checkpoint was ` +
        `altered or is not this log's`,
    );
  report.checkpoint = {
    origin: checkpoint.origin,
    size: checkpoint.size,
    rootHash: Buffer.from(checkpoint.rootHash).toString('base64'),
    verified: key !== undefined,
  };
  return { checkpoint, key };
}

/**
 * A checkpoint has no time of its own, but it is no older than the newest entry it covers: a
 * retired key must not have signed a checkpoint over entries integrated after its retirement.
 */
export function checkCheckpointKeyInService(c: PackContext, key: LogKey | undefined): void {
  if (!key || key.end === Infinity) return;
  let newest: { at: number; index: number | null } | undefined;
  for (const item of c.items.values()) {
    const at = item.integratedTime === null ? undefined : item.integratedTime * 1000;
    if (at !== undefined && (!newest || at > newest.at)) newest = { at, index: item.logIndex };
  }
  if (newest && newest.at > key.end) {
    c.problems.push(
      `checkpoint: signed with a log key retired at ${new Date(key.end).toISOString()}, but it covers entry ` +
        `#${newest.index} integrated at ${new Date(newest.at).toISOString()}`,
    );
  }
}
