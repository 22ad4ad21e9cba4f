// The policy file format (docs/policies.md) as a zod schema. Field checks that need more than a
// type (durations, anchored regular expressions, CEL) run here too, so one pass reports every
// bad field with its path; checks across fields and files are in load.ts.

import { z } from 'zod';
import { messageOf } from '../errors.ts';
import { parseDuration } from '../util/duration.ts';
import { compileCel } from './cel.ts';
import { ENVIRONMENT_NAME } from './environments.ts';
import { REBUILD_REQUIREMENTS } from './types.ts';

/** `$self` as a signer issuer: waybill's own issuer URL. */
const SELF_ISSUER = '$self';

const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const TYPE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

const environmentName = z
  .string()
  .regex(ENVIRONMENT_NAME, 'must be an environment name: 1-63 characters of a-z, 0-9 and -');

const duration = z.string().transform((text, ctx) => {
  try {
    return { text, ms: parseDuration(text) };
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: messageOf(err) });
    return z.NEVER;
  }
});

/** True when `source` starts with ^ and ends with a $ that is not escaped. */
function isAnchored(source: string): boolean {
  if (!source.startsWith('^') || !source.endsWith('$')) return false;
  const backslashes = /\\*(?=\$$)/.exec(source)![0].length;
  return backslashes % 2 === 0;
}

const subjectPattern = z.string().transform((source, ctx) => {
  if (!isAnchored(source)) {
    ctx.addIssue({
      code: 'custom',
      message: `must be an anchored regular expression (start with ^ and end with $), got ${JSON.stringify(source)}`,
    });
    return z.NEVER;
  }
  try {
    // The group keeps a top-level alternation (^a|b$) anchored at both ends.
    return { source, pattern: new RegExp(`^(?:${source})$`, 'u') };
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${messageOf(err)}` });
    return z.NEVER;
  }
});

/** A listed signer's subject: exact, or an anchored regular expression (`^...$`). */
const exactOrPattern = z
  .string()
  .min(1, 'must not be empty')
  .transform((source, ctx) => {
    if (!source.startsWith('^')) return { source, pattern: new RegExp(`^${escapeRegExp(source)}$`, 'u') };
    if (!isAnchored(source)) {
      ctx.addIssue({
        code: 'custom',
        message: `a pattern must be anchored (start with ^ and end with $), got ${JSON.stringify(source)}`,
      });
      return z.NEVER;
    }
    try {
      return { source, pattern: new RegExp(`^(?:${source})$`, 'u') };
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${messageOf(err)}` });
      return z.NEVER;
    }
  });

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const celExpression = z.string().transform((source, ctx) => {
  try {
    return compileCel(source);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: messageOf(err) });
    return z.NEVER;
  }
});

/** The schema of one policy file; `issuer` resolves `$self`. */
export function policyFileSchema(opts: { issuer: string }) {
  const issuer = z.string().transform((value, ctx) => {
    if (value === SELF_ISSUER) return opts.issuer;
    if (!URL.canParse(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `must be an issuer URL or ${SELF_ISSUER}, got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return value;
  });

  const rule = z.strictObject({
    name: z
      .string()
      .regex(
        RULE_NAME,
        'must be 1-128 characters of letters, digits, ".", "_" and "-", starting with a letter or digit',
      ),
    predicateType: z.string().regex(TYPE_URI, 'must be a predicate type URI, e.g. https://slsa.dev/provenance/v1'),
    signer: z.strictObject({ issuer: issuer.optional(), subject: subjectPattern.optional() }).optional(),
    signers: z
      .strictObject({
        min: z.number().int('must be a whole number').min(1, 'must be at least 1'),
        of: z.array(z.strictObject({ issuer, subject: exactOrPattern })).min(1, 'list at least one signer'),
      })
      .refine((s) => s.min <= s.of.length, {
        message: 'min is more than the signers listed',
        path: ['min'],
      })
      .optional(),
    environment: environmentName.optional(),
    where: celExpression.optional(),
    maxAge: duration.optional(),
    absent: z.boolean().optional(),
    transferable: z.boolean().optional(),
  });

  const checkedRule = rule.superRefine((r, ctx) => {
    if (r.signers && r.absent)
      ctx.addIssue({ code: 'custom', path: ['signers'], message: 'an absent rule cannot require signers' });
  });

  const rebuilds = z.strictObject({
    allowWithException: z.boolean().optional(),
    approvers: z
      .array(z.strictObject({ issuer, subject: exactOrPattern }))
      .min(1, 'list at least one approver')
      .optional(),
    minApprovals: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
    require: z
      .array(z.enum(REBUILD_REQUIREMENTS))
      .refine((items) => new Set(items).size === items.length, 'must not list a requirement twice')
      .optional(),
  });

  return z.strictObject({
    environment: environmentName,
    after: environmentName.optional(),
    verdictTtl: duration.optional(),
    rules: z.array(checkedRule).min(1, 'a policy needs at least one rule'),
    rebuilds: rebuilds.optional(),
  });
}

export type PolicyFile = z.output<ReturnType<typeof policyFileSchema>>;

const shape = policyFileSchema({ issuer: '' }).shape;
const ruleShape = shape.rules.element.shape;
const signersShape = ruleShape.signers.unwrap().shape;

/** The fields each object of the file may have, for "unknown field" messages. */
export const KNOWN_FIELDS = {
  policy: Object.keys(shape),
  rule: Object.keys(ruleShape),
  signer: Object.keys(ruleShape.signer.unwrap().shape),
  signers: Object.keys(signersShape),
  signersOf: Object.keys(signersShape.of.element.shape),
  rebuilds: Object.keys(shape.rebuilds.unwrap().shape),
  approvers: Object.keys(shape.rebuilds.unwrap().shape.approvers.unwrap().element.shape),
};
