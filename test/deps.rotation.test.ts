// Key rotation: after moving to a new CA and log key, the served trusted root still lists the
// retired ones (WAYBILL_TRUST_HISTORY_FILE), so bundles signed before and after both verify.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.ts';
import { wireServices } from '../src/deps.ts';
import { createLogger } from '../src/logger.ts';
import { verifyBundle } from '../src/signing/verify.ts';
import { verifyInclusionPromise } from '../src/tlog/entry.ts';
import { fromBase64Strict } from '../src/util/encoding.ts';
import { backends } from './helpers/db.ts';
import type { Json } from './helpers/json.ts';
import { provenanceStatement } from './helpers/statements.ts';

const ISSUER = 'https://waybill.test';
const CI = 'https://ci.example.com/rotate';
const identity = { subjectAlternativeName: CI, issuer: ISSUER };

describe.each(backends)('key rotation on $name', (backend) => {
  it('keeps pre-rotation bundles verifiable with the post-rotation trusted root', async () => {
    const database = await backend.open();
    try {
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'wb-rot-'));
      const base = { WAYBILL_ISSUER: ISSUER, WAYBILL_LOG_TREE_ID: '42' };
      const before = await wireServices(
        parseConfig({ ...base, WAYBILL_DATA_DIR: path.join(tmp, 'a') }),
        database,
        createLogger('silent'),
      );
      const old = (await before.attest.sign(provenanceStatement(), CI)).record.bundle;

      // retire the old keys: their trust entries get an end date and go into the history file
      const retired = structuredClone(before.trustedRoot);
      const end = new Date().toISOString();
      for (const ca of retired.certificateAuthorities) ca.validFor.end = end;
      for (const t of retired.tlogs) t.publicKey.validFor.end = end;
      const historyFile = path.join(tmp, 'history.json');
      writeFileSync(historyFile, JSON.stringify(retired));

      const after = await wireServices(
        parseConfig({ ...base, WAYBILL_DATA_DIR: path.join(tmp, 'b'), WAYBILL_TRUST_HISTORY_FILE: historyFile }),
        database,
        createLogger('silent'),
      );
      expect(after.keys.log.publicKey.export({ format: 'jwk' })).not.toEqual(
        before.keys.log.publicKey.export({ format: 'jwk' }),
      );
      const fresh = (await after.attest.sign(provenanceStatement(), CI)).record.bundle;
      expect(after.trustedRoot.certificateAuthorities).toHaveLength(2);
      expect(after.trustedRoot.tlogs).toHaveLength(2);

      await expect(verifyBundle(old, { trustedRoot: after.trustedRoot, identity })).resolves.toBeDefined();
      await expect(verifyBundle(fresh, { trustedRoot: after.trustedRoot, identity })).resolves.toBeDefined();
      // without the history, the old bundle no longer verifies: the history is what keeps it valid
      await expect(
        verifyBundle(old, {
          trustedRoot: {
            ...after.trustedRoot,
            certificateAuthorities: after.trustedRoot.certificateAuthorities.slice(0, 1),
            tlogs: after.trustedRoot.tlogs.slice(0, 1),
          },
          identity,
        }),
      ).rejects.toMatchObject({ name: 'VerifyError' });
      // the log stayed one log across the rotation
      expect((await after.log.checkpoint()).treeSize).toBe(2);
      // the entry served today for a pre-rotation record carries the SET signed then and names the
      // retired key that signed it (the inclusion proof is against today's checkpoint, new key)
      const served = (await after.log.entry(0))!;
      const own = (old as Json).verificationMaterial.tlogEntries[0];
      expect(served.logId.keyId).toBe(own.logId.keyId);
      expect(served.inclusionPromise).toEqual(own.inclusionPromise);
      expect(served.logId.keyId).not.toBe((await after.log.entry(1))!.logId.keyId);
      const fields = {
        body: fromBase64Strict(served.canonicalizedBody)!,
        integratedTime: Number(served.integratedTime),
        logIndex: 0,
        logId: fromBase64Strict(served.logId.keyId)!,
      };
      const set = fromBase64Strict(served.inclusionPromise.signedEntryTimestamp)!;
      expect(verifyInclusionPromise(fields, set, before.keys.log.publicKey)).toBe(true);
    } finally {
      await database.close();
    }
  });
});
