// The `waybill` command itself.
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/process.ts';

describe('waybill', () => {
  it('has --help on every command', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['tokens', '--help'], ['tokens', 'create', '--help']]) {
      const res = await runCli(args);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/Usage: waybill/);
    }
  });
});
