// docs/problems.md is generated from the error table in src/errors.ts: this fails until
// `npm run docs:problems` has been run after the table changed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { problemsMarkdown } from '../../src/http/routes/problems.ts';

describe('docs/problems.md', () => {
  it('is the error table as it is now (regenerate with npm run docs:problems)', () => {
    const file = readFileSync(new URL('../../docs/problems.md', import.meta.url), 'utf8');
    expect(file).toBe(problemsMarkdown());
  });
});
