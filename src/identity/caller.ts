// The identity a caller signs as: its subject, and for a CI workload the token's issuer and the
// Fulcio extensions of its claims (bearer-token callers: waybill's issuer, no extensions).
import type { ExtraExtension } from '../signing/leaf.ts';
import type { CallerScope } from './types.ts';

export interface SigningIdentityOf {
  subject: string;
  issuer: string | null;
  extensions?: readonly ExtraExtension[];
}

export function signingIdentityOf(caller: CallerScope): SigningIdentityOf {
  return {
    subject: caller.subject,
    issuer: caller.issuer,
    ...(caller.workload ? { extensions: caller.workload.extensions } : {}),
  };
}
