// Record ids: a readable prefix (vd_, dp_, rx_, tok_) and random base64url.
import { randomBytes } from 'node:crypto';

export function newId(prefix: string, bytes = 12): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`;
}
