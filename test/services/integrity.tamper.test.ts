// Issue 10, "only signed facts decide": an insider with write access to the database edits one
// column of one row at a time, in every table that holds evidence, verdicts, deployments,
// exceptions or the log. For every edit: no verdict turns from deny to allow, no deployment is
// accepted on the strength of the edit, and the edit is found, by the next verdict about the
// digest it concerns (a deny naming it) or by the drift report, unless the table below says why
// the column cannot matter. After each edit the row is put back and the report must be clean
// again, so every row of the table starts from the same history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import type { Json } from '../helpers/json.ts';
import { type Callers, mintCallers, pipeline, promotionStory, rebuildStory, type Story } from '../helpers/story.ts';

type Row = Record<string, unknown>;

/** How an edit must show: `found` = by the next verdict or the drift report; `inert` = cannot matter (why). */
type Expect = { found: true } | { inert: string } | { refused: string };

interface Edit {
  table: string;
  what: string;
  expect: Expect;
  /** Apply the edit; returns how to undo it. */
  apply(ctx: Ctx): Promise<() => Promise<void>>;
}

interface Ctx {
  db: Database;
  story: Story;
  rebuild: { rebuild: string; exceptionId: string };
  ids: Record<string, string>;
}

const q = async (db: Database, text: string, params: unknown[] = []) => db.sql.query<Row>(text, params);

/** Set one column of one row (by primary key) to a new value, remembering the old one. */
function setColumn(
  table: string,
  key: string,
  keyOf: (c: Ctx) => unknown,
  column: string,
  to: (old: unknown, c: Ctx) => unknown,
) {
  return async (c: Ctx) => {
    const [row] = await q(c.db, `select ${column} as v from ${table} where ${key} = $1`, [keyOf(c)]);
    if (!row) throw new Error(`no ${table} row ${String(keyOf(c))}`);
    const value = to(row.v, c);
    await q(c.db, `update ${table} set ${column} = $2 where ${key} = $1`, [keyOf(c), value]);
    const newKey = column === key ? value : keyOf(c);
    return async () => {
      await q(c.db, `update ${table} set ${column} = $2 where ${key} = $1`, [newKey, asParam(row.v)]);
    };
  };
}

/** Delete rows, and put them back exactly. */
function deleteRows(table: string, where: string, paramsOf: (c: Ctx) => unknown[]) {
  return async (c: Ctx) => {
    const rows = await q(c.db, `select * from ${table} where ${where}`, paramsOf(c));
    if (rows.length === 0) throw new Error(`nothing to delete in ${table}`);
    await q(c.db, `delete from ${table} where ${where}`, paramsOf(c));
    return async () => {
      for (const r of rows) {
        const cols = Object.keys(r);
        await q(
          c.db,
          `insert into ${table} (${cols.join(', ')}) values (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
          cols.map((k) => asParam(r[k])),
        );
      }
    };
  };
}

const json = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
// A jsonb value read back is an object; both drivers take it back as JSON text.
const asParam = (v: unknown) =>
  v !== null && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array) ? JSON.stringify(v) : v;
const later = (v: unknown) => new Date(new Date(v as string | Date).getTime() + 3_600_000).toISOString();

// Row ids the edits refer to, looked up once the story has run.
async function lookup(db: Database, story: Story, rebuild: Ctx['rebuild']): Promise<Record<string, string>> {
  const one = async (label: string, text: string, params: unknown[]) => {
    const [row] = await q(db, text, params);
    if (!row) throw new Error(`tamper table: no ${label}`);
    return String(row.id);
  };
  const about = `from attestations a join attestation_subjects s on s.attestation_id = a.id where s.digest = $1`;
  return {
    failedTest: await one(
      'FAILED staging test',
      `select a.id ${about} and a.predicate_type = 'https://in-toto.io/attestation/test-result/v0.1'
         and a.environment = 'staging' and a.statement->'predicate'->>'result' = 'FAILED'`,
      [`sha256:${story.failedStaging}`],
    ),
    promotedProvenance: await one(
      'provenance',
      `select a.id ${about} and a.predicate_type = 'https://slsa.dev/provenance/v1'`,
      [`sha256:${story.promoted}`],
    ),
    promotedStagingDeployment: await one(
      'staging deployment',
      `select id from deployments where digest = $1 and environment = 'staging'`,
      [`sha256:${story.promoted}`],
    ),
    promotedStagingVerdict: await one(
      'staging verdict',
      `select verdict_id as id from deployments where digest = $1 and environment = 'staging'`,
      [`sha256:${story.promoted}`],
    ),
    failedProductionVerdict: await one(
      'production deny',
      `select id from verdicts where digest = $1 and environment = 'production' and decision = 'deny' limit 1`,
      [`sha256:${story.failedStaging}`],
    ),
    exception: rebuild.exceptionId,
  };
}

const ATT = (k: string) => (c: Ctx) => c.ids[k];
const failed = ATT('failedTest');

const EDITS: Edit[] = [
  // attestations: the FAILED staging test that keeps failedStaging out of production
  {
    table: 'attestations',
    what: 'id',
    expect: { refused: 'log_entries.attestation_id and attestation_subjects.attestation_id are foreign keys' },
    apply: setColumn('attestations', 'id', failed, 'id', () => 'f'.repeat(64)),
  },
  {
    table: 'attestations',
    what: 'predicate_type (hide a FAILED test as an SBOM)',
    expect: { found: true },
    apply: setColumn('attestations', 'id', failed, 'predicate_type', () => 'https://spdx.dev/Document'),
  },
  {
    table: 'attestations',
    what: 'statement (FAILED -> PASSED)',
    expect: { found: true },
    apply: setColumn('attestations', 'id', failed, 'statement', (v) =>
      json({ ...(v as Json), predicate: { ...(v as Json).predicate, result: 'PASSED', failedTests: [] } }),
    ),
  },
  {
    table: 'attestations',
    what: 'statement_sha256',
    expect: { found: true },
    apply: setColumn('attestations', 'id', failed, 'statement_sha256', () => '0'.repeat(64)),
  },
  {
    table: 'attestations',
    what: 'bundle (another valid bundle)',
    expect: { found: true },
    apply: setColumn('attestations', 'id', failed, 'bundle', (_v, c) => c.ids.promotedProvenanceBundle),
  },
  {
    table: 'attestations',
    what: 'signer_subject',
    expect: { found: true },
    apply: setColumn('attestations', 'id', failed, 'signer_subject', () => 'https://ci.example.com/someone-else'),
  },
  {
    table: 'attestations',
    what: 'signer_issuer',
    expect: { found: true },
    apply: setColumn('attestations', 'id', failed, 'signer_issuer', () => 'https://elsewhere.example'),
  },
  {
    table: 'attestations',
    what: 'environment (staging -> dev)',
    expect: { found: true },
    apply: setColumn('attestations', 'id', failed, 'environment', () => 'dev'),
  },
  {
    table: 'attestations',
    what: 'environment (staging -> none)',
    expect: { found: true },
    apply: setColumn('attestations', 'id', failed, 'environment', () => null),
  },
  {
    table: 'attestations',
    what: 'origin',
    expect: { found: true },
    apply: setColumn('attestations', 'id', failed, 'origin', () => 'ingested'),
  },
  {
    table: 'attestations',
    what: 'log_index',
    expect: { found: true },
    apply: setColumn('attestations', 'id', failed, 'log_index', () => 1_000_000),
  },
  {
    table: 'attestations',
    what: 'created_at (a year earlier)',
    expect: { found: true },
    apply: setColumn('attestations', 'id', failed, 'created_at', (v) =>
      new Date(new Date(v as string).getTime() - 365 * 86_400_000).toISOString(),
    ),
  },
  // attestation_subjects
  {
    table: 'attestation_subjects',
    what: 'delete the FAILED test’s subject row',
    expect: { found: true },
    apply: deleteRows('attestation_subjects', 'attestation_id = $1', (c) => [c.ids.failedTest]),
  },
  {
    table: 'attestation_subjects',
    what: 'digest (move the FAILED test to another digest)',
    expect: { found: true },
    apply: setColumn('attestation_subjects', 'attestation_id', failed, 'digest', () => `sha256:${'9'.repeat(64)}`),
  },
  {
    table: 'attestation_subjects',
    what: 'name',
    expect: { found: true },
    apply: setColumn('attestation_subjects', 'attestation_id', failed, 'name', () => 'ghcr.io/example/other'),
  },
  {
    table: 'attestation_subjects',
    what: 'insert a row tying the promoted provenance to notInDev',
    expect: { found: true },
    apply: async (c) => {
      await q(c.db, 'insert into attestation_subjects (attestation_id, digest, name) values ($1, $2, $3)', [
        c.ids.promotedProvenance,
        `sha256:${c.story.notInDev}`,
        'ghcr.io/example/app',
      ]);
      return async () => {
        await q(c.db, 'delete from attestation_subjects where attestation_id = $1 and digest = $2', [
          c.ids.promotedProvenance,
          `sha256:${c.story.notInDev}`,
        ]);
      };
    },
  },
  // log_entries: the FAILED test's entry
  ...(['body', 'leaf_hash'] as const).map(
    (column): Edit => ({
      table: 'log_entries',
      what: column,
      expect: { found: true },
      apply: setColumn('log_entries', 'attestation_id', failed, column, (v) => {
        const b = Buffer.from(v as Uint8Array);
        b[b.length - 1]! ^= 1;
        return b;
      }),
    }),
  ),
  {
    table: 'log_entries',
    what: 'integrated_time',
    expect: { found: true },
    apply: setColumn('log_entries', 'attestation_id', failed, 'integrated_time', (v) => Number(v) - 86_400),
  },
  {
    table: 'log_entries',
    what: 'kind',
    expect: { found: true },
    apply: setColumn('log_entries', 'attestation_id', failed, 'kind', () => 'hashedrekord'),
  },
  {
    table: 'log_entries',
    what: 'attestation_id (point the FAILED test’s entry at the provenance)',
    expect: { refused: 'log_entries.attestation_id is unique' },
    apply: setColumn('log_entries', 'attestation_id', failed, 'attestation_id', (_v, c) => c.ids.promotedProvenance),
  },
  {
    table: 'log_entries + attestations',
    what: 'delete the FAILED test with its subjects and its log entry',
    expect: { found: true },
    apply: async (c) => {
      const undo = [
        await deleteRows('log_entries', 'attestation_id = $1', () => [c.ids.failedTest])(c),
        await deleteRows('attestation_subjects', 'attestation_id = $1', () => [c.ids.failedTest])(c),
        await deleteRows('attestations', 'id = $1', () => [c.ids.failedTest])(c),
      ];
      return async () => {
        for (const u of undo.reverse()) await u();
      };
    },
  },
  // log_nodes and log_checkpoints
  {
    table: 'log_nodes',
    what: 'hash of a leaf node',
    expect: { found: true },
    apply: async (c) => {
      const [e] = await q(c.db, 'select log_index from log_entries where attestation_id = $1', [c.ids.failedTest]);
      const idx = Number(e!.log_index);
      const [n] = await q(c.db, 'select hash from log_nodes where level = 0 and idx = $1', [idx]);
      const flipped = Buffer.from(n!.hash as Uint8Array);
      flipped[0]! ^= 1;
      await q(c.db, 'update log_nodes set hash = $2 where level = 0 and idx = $1', [idx, flipped]);
      return async () => {
        await q(c.db, 'update log_nodes set hash = $2 where level = 0 and idx = $1', [idx, n!.hash]);
      };
    },
  },
  {
    table: 'log_checkpoints',
    what: 'root_hash of the latest checkpoint',
    expect: { found: true },
    apply: async (c) => {
      const [cp] = await q(c.db, 'select tree_size, root_hash from log_checkpoints order by tree_size desc limit 1');
      const flipped = Buffer.from(cp!.root_hash as Uint8Array);
      flipped[0]! ^= 1;
      await q(c.db, 'update log_checkpoints set root_hash = $2 where tree_size = $1', [cp!.tree_size, flipped]);
      return async () => {
        await q(c.db, 'update log_checkpoints set root_hash = $2 where tree_size = $1', [cp!.tree_size, cp!.root_hash]);
      };
    },
  },
  {
    table: 'log_checkpoints',
    what: 'note of the latest checkpoint',
    expect: { found: true },
    apply: async (c) => {
      const [cp] = await q(c.db, 'select tree_size, note from log_checkpoints order by tree_size desc limit 1');
      const edited = String(cp!.note).replace(/\n(\d+)\n/, (_m, n) => `\n${Number(n) + 1}\n`);
      await q(c.db, 'update log_checkpoints set note = $2 where tree_size = $1', [cp!.tree_size, edited]);
      return async () => {
        await q(c.db, 'update log_checkpoints set note = $2 where tree_size = $1', [cp!.tree_size, cp!.note]);
      };
    },
  },
  {
    table: 'log_checkpoints',
    what: 'created_at',
    expect: { inert: 'when a checkpoint row was written is not part of any signed note; nothing reads it to decide' },
    apply: async (c) => {
      const [cp] = await q(c.db, 'select tree_size, created_at from log_checkpoints order by tree_size desc limit 1');
      await q(c.db, 'update log_checkpoints set created_at = $2 where tree_size = $1', [
        cp!.tree_size,
        later(cp!.created_at),
      ]);
      return async () => {
        await q(c.db, 'update log_checkpoints set created_at = $2 where tree_size = $1', [
          cp!.tree_size,
          cp!.created_at,
        ]);
      };
    },
  },
  // verdicts
  {
    table: 'verdicts',
    what: 'decision and expires_at (a production deny turned into a fresh allow)',
    expect: { found: true },
    apply: async (c) => {
      const undoDecision = await setColumn(
        'verdicts',
        'id',
        ATT('failedProductionVerdict'),
        'decision',
        () => 'allow',
      )(c);
      const undoExpiry = await setColumn('verdicts', 'id', ATT('failedProductionVerdict'), 'expires_at', () =>
        new Date(Date.now() + 86_400_000).toISOString(),
      )(c);
      return async () => {
        await undoExpiry();
        await undoDecision();
      };
    },
  },
  {
    table: 'verdicts',
    what: 'expires_at (a deny given a future expiry)',
    expect: { found: true },
    apply: setColumn('verdicts', 'id', ATT('failedProductionVerdict'), 'expires_at', () =>
      new Date(Date.now() + 86_400_000).toISOString(),
    ),
  },
  {
    table: 'verdicts',
    what: 'digest (the staging allow of promoted, moved to notInDev)',
    expect: { found: true },
    apply: setColumn(
      'verdicts',
      'id',
      ATT('promotedStagingVerdict'),
      'digest',
      (_v, c) => `sha256:${c.story.notInDev}`,
    ),
  },
  {
    table: 'verdicts',
    what: 'environment',
    expect: { found: true },
    apply: setColumn('verdicts', 'id', ATT('promotedStagingVerdict'), 'environment', () => 'production'),
  },
  {
    table: 'verdicts',
    what: 'policy_digest',
    expect: { found: true },
    apply: setColumn('verdicts', 'id', ATT('promotedStagingVerdict'), 'policy_digest', () => '0'.repeat(64)),
  },
  {
    table: 'verdicts',
    what: 'result (per-rule results and reasons)',
    expect: { found: true },
    apply: setColumn('verdicts', 'id', ATT('failedProductionVerdict'), 'result', (v) =>
      json({ ...(v as Json), reasons: [], rules: [] }),
    ),
  },
  {
    table: 'verdicts',
    what: 'vsa_attestation_id (the deny pointed at an allow VSA)',
    expect: { found: true },
    apply: setColumn(
      'verdicts',
      'id',
      ATT('failedProductionVerdict'),
      'vsa_attestation_id',
      (_v, c) => c.ids.stagingVsa,
    ),
  },
  {
    table: 'verdicts',
    what: 'created_at',
    expect: { found: true },
    apply: setColumn('verdicts', 'id', ATT('promotedStagingVerdict'), 'created_at', later),
  },
  {
    table: 'verdicts',
    what: 'id',
    expect: { refused: 'deployments.verdict_id is a foreign key' },
    apply: setColumn('verdicts', 'id', ATT('promotedStagingVerdict'), 'id', () => 'vd_forged'),
  },
  // deployments: promoted's staging deployment, which lets it into production
  {
    table: 'deployments',
    what: 'digest (promoted’s staging deployment moved to failedStaging... and back to notInDev)',
    expect: { found: true },
    apply: setColumn(
      'deployments',
      'id',
      ATT('promotedStagingDeployment'),
      'digest',
      (_v, c) => `sha256:${c.story.notInDev}`,
    ),
  },
  {
    table: 'deployments',
    what: 'environment',
    expect: { found: true },
    apply: setColumn('deployments', 'id', ATT('promotedStagingDeployment'), 'environment', () => 'dev'),
  },
  {
    table: 'deployments',
    what: 'verdict_id',
    expect: { found: true },
    apply: setColumn(
      'deployments',
      'id',
      ATT('promotedStagingDeployment'),
      'verdict_id',
      (_v, c) => c.ids.failedProductionVerdict,
    ),
  },
  {
    table: 'deployments',
    what: 'attestation_id',
    expect: { found: true },
    apply: setColumn(
      'deployments',
      'id',
      ATT('promotedStagingDeployment'),
      'attestation_id',
      (_v, c) => c.ids.promotedProvenance,
    ),
  },
  {
    table: 'deployments',
    what: 'deployer',
    expect: { found: true },
    apply: setColumn(
      'deployments',
      'id',
      ATT('promotedStagingDeployment'),
      'deployer',
      () => 'https://cd.example.com/other',
    ),
  },
  {
    table: 'deployments',
    what: 'created_at',
    expect: { found: true },
    apply: setColumn('deployments', 'id', ATT('promotedStagingDeployment'), 'created_at', later),
  },
  {
    table: 'deployments',
    what: 'delete promoted’s staging deployment',
    expect: { found: true },
    apply: deleteRows('deployments', 'id = $1', (c) => [c.ids.promotedStagingDeployment]),
  },
  {
    table: 'deployments',
    what: 'insert a forged deployment of notInDev to dev',
    expect: { found: true },
    apply: async (c) => {
      const [d] = await q(c.db, 'select * from deployments where id = $1', [c.ids.promotedStagingDeployment]);
      await q(
        c.db,
        `insert into deployments (id, digest, environment, verdict_id, attestation_id, deployer, created_at)
         values ('dp_forged', $1, 'dev', $2, $3, $4, now())`,
        [`sha256:${c.story.notInDev}`, d!.verdict_id, d!.attestation_id, d!.deployer],
      );
      return async () => {
        await q(c.db, `delete from deployments where id = 'dp_forged'`);
      };
    },
  },
  // rebuild exceptions: the approved production exception of the rebuild
  ...(
    [
      ['status', () => 'pending'],
      ['original', (_v: unknown, c: Ctx) => `sha256:${c.story.failedStaging}`],
      ['rebuild', (_v: unknown, c: Ctx) => `sha256:${c.story.notInDev}`],
      ['environment', () => 'staging'],
      ['expires_at', (v: unknown) => new Date(new Date(v as string).getTime() + 365 * 86_400_000).toISOString()],
      ['reason', () => 'edited reason of at least ten characters'],
      ['ticket', () => 'OPS-999'],
      ['requested_by', () => 'https://people.example.com/approver'],
      ['attestation_id', (_v: unknown, c: Ctx) => c.ids.promotedProvenance],
    ] as Array<[string, (v: unknown, c: Ctx) => unknown]>
  ).map(
    ([column, to]): Edit => ({
      table: 'rebuild_exceptions',
      what: column,
      expect: { found: true },
      apply: setColumn('rebuild_exceptions', 'id', ATT('exception'), column, to),
    }),
  ),
  {
    table: 'exception_approvals',
    what: 'delete the approvals of the signed exception',
    expect: { found: true },
    apply: deleteRows('exception_approvals', 'exception_id = $1', (c) => [c.ids.exception]),
  },
  {
    table: 'exception_approvals',
    what: 'approver',
    expect: { found: true },
    apply: async (c) => {
      const [a] = await q(c.db, 'select approver from exception_approvals where exception_id = $1 limit 1', [
        c.ids.exception,
      ]);
      const set = (from: unknown, to: unknown) =>
        q(c.db, 'update exception_approvals set approver = $3 where exception_id = $1 and approver = $2', [
          c.ids.exception,
          from,
          to,
        ]);
      await set(a!.approver, 'https://people.example.com/mallory');
      return async () => {
        await set('https://people.example.com/mallory', a!.approver);
      };
    },
  },
];

describe.each(backends)('the tamper table on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let c: Callers;
  let ctx: Ctx;
  let p: ReturnType<typeof pipeline>;
  const results: string[] = [];
  const baseline: Record<string, string> = {};

  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database);
    c = await mintCallers(t);
    p = pipeline(t, c);
    const story = await promotionStory(t, c);
    const rebuild = await rebuildStory(t, c, story.promoted);
    await p.promote(rebuild.rebuild, 'production');
    const denied = await p.verdict(story.failedStaging, 'production');
    expect(denied.body.decision).toBe('deny');
    const ids = await lookup(database, story, rebuild);
    const [prov] = await q(database, 'select bundle from attestations where id = $1', [ids.promotedProvenance]);
    const [vsa] = await q(database, 'select vsa_attestation_id as id from verdicts where id = $1', [
      ids.promotedStagingVerdict,
    ]);
    ctx = {
      db: database,
      story,
      rebuild,
      ids: { ...ids, promotedProvenanceBundle: json(prov!.bundle), stagingVsa: String(vsa!.id) },
    };
  }, 180_000);
  afterAll(async () => {
    console.log(`tamper table (${backend.name}):\n${results.join('\n')}`);
    await database.close();
  });

  const drift = async () => (await (await t.call('GET', '/v1/reports/drift', { token: c.auditor })).json()) as Json;

  /** What the service decides now about the digests the edits aim at. */
  const decisions = async () => {
    const s = ctx.story;
    return {
      failedToProduction: (await p.verdict(s.failedStaging, 'production')).body,
      notInDevToStaging: (await p.verdict(s.notInDev, 'staging')).body,
      promotedToProduction: (await p.verdict(s.promoted, 'production')).body,
      rebuildToProduction: (await p.verdict(ctx.rebuild.rebuild, 'production')).body,
    };
  };

  it('starts from a clean history: the report is ok and the decisions are the expected ones', async () => {
    expect((await drift()).ok).toBe(true);
    const d = await decisions();
    for (const k of Object.keys(d) as Array<keyof typeof d>) baseline[k] = d[k].decision;
    expect([d.failedToProduction.decision, d.notInDevToStaging.decision]).toEqual(['deny', 'deny']);
    expect([d.promotedToProduction.decision, d.rebuildToProduction.decision]).toEqual(['allow', 'allow']);
  });

  it.each(EDITS.map((e) => [`${e.table}.${e.what}`, e] as const))('%s', async (_name, edit) => {
    let undo: (() => Promise<void>) | undefined;
    try {
      undo = await edit.apply(ctx);
    } catch (err) {
      if ('refused' in edit.expect) {
        results.push(`  ${edit.table}.${edit.what}: refused by the schema (${edit.expect.refused})`);
        return;
      }
      throw err;
    }
    try {
      if ('refused' in edit.expect) throw new Error(`expected the schema to refuse ${edit.table}.${edit.what}`);
      const d = await decisions();
      // Never deny -> allow.
      expect(d.failedToProduction.decision).toBe('deny');
      expect(d.notInDevToStaging.decision).toBe('deny');
      // A deny flipped to allow in storage does not let a deployment through.
      const deployed = await p.deploy(ctx.story.failedStaging, 'production', ctx.ids.failedProductionVerdict!);
      expect(deployed.status).toBe(409);
      const report = await drift();
      const findings = (report.environments as Json[]).flatMap((e) => e.findings).concat(report.integrity.findings);
      // A verdict noticed it: an allow turned deny, or a deny that says storage is not what was signed.
      const noticed = /cannot be trusted|does not match what was signed|not the one in the signed|edited in storage/;
      const deniedByVerdict = (Object.keys(d) as Array<keyof typeof d>).some(
        (k) => d[k].decision !== baseline[k] || (d[k].decision === 'deny' && noticed.test(d[k].reasons.join(' '))),
      );
      if ('found' in edit.expect) {
        expect(report.ok === false || deniedByVerdict, `${edit.table}.${edit.what} went unnoticed`).toBe(true);
        const how = [report.ok ? '' : `drift (${findings.map((f: Json) => f.kind).join(', ')})`];
        if (deniedByVerdict) how.push('verdict deny');
        results.push(`  ${edit.table}.${edit.what}: ${how.filter(Boolean).join(' + ')}`);
      } else {
        expect(d.promotedToProduction.decision).toBe('allow');
        results.push(`  ${edit.table}.${edit.what}: cannot matter (${edit.expect.inert})`);
      }
    } finally {
      await undo?.();
    }
    const after = await drift();
    const left = [...after.environments.flatMap((e: Json) => e.findings), ...after.integrity.findings];
    expect(left, 'the report is clean again once the row is restored').toEqual([]);
  });
});
