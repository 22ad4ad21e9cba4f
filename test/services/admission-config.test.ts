// WAYBILL_ADMISSION_CONFIG: namespaces to environments, checked at start-up with every problem named.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { preflight } from '../../src/preflight.ts';
import {
  AdmissionConfigError,
  environmentOfNamespace,
  parseAdmissionConfig,
} from '../../src/services/admission-config.ts';
import { testConfig } from '../helpers/app.ts';

const ENVS = ['dev', 'staging', 'production'];
const parse = (text: string) => parseAdmissionConfig(text, { source: 'admission.yaml', environments: ENVS });
const problems = (text: string) => {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof AdmissionConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('the admission configuration', () => {
  it('maps namespaces to environments with * globs, enforce by default, first environment listed wins', () => {
    const config = parse(`
environments:
  production: { namespaces: [prod, prod-*] }
  dev: { namespaces: ['*-dev', 'prod-*-dev'], enforcement: audit }
`);
    const of = (ns: string) => environmentOfNamespace(config, ns);
    expect(of('prod')).toMatchObject({ environment: 'production', enforcement: 'enforce' });
    expect(of('prod-eu')?.environment).toBe('production');
    expect(of('prod-x-dev')?.environment).toBe('production');
    expect(of('team-dev')).toMatchObject({ environment: 'dev', enforcement: 'audit' });
    expect(of('production')).toBeUndefined();
    expect(of('kube-system')).toBeUndefined();
    // a dot in a namespace pattern is not a wildcard
    expect(of('prodXeu')).toBeUndefined();
  });

  it('names every problem', () => {
    expect(problems('environments: [')).toEqual([expect.stringMatching(/^not YAML: /)]);
    expect(
      problems(`
environments:
  qa: { namespaces: [qa] }
  production: { namespaces: [Prod_1], enforcement: block }
  dev: { namespaces: [] }
`),
    ).toEqual([
      'environments.production.namespaces.0: a namespace name, where * matches any run of characters',
      'environments.production.enforcement: Invalid option: expected one of "enforce"|"audit"',
      'environments.dev.namespaces: Too small: expected array to have >=1 items',
    ]);
    expect(
      problems('environments:\n  qa: { namespaces: [qa] }\n  dev: { namespaces: [x] }\n  staging: { namespaces: [x] }'),
    ).toEqual([
      'environments.qa: unknown environment (the policies define: dev, staging, production)',
      'environments.staging.namespaces: x is also in dev',
    ]);
    expect(problems('environments: {}')).toEqual(['environments: name at least one environment']);
  });

  it('stops start-up before keys or a database when the file is wrong or missing', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-adm-'));
    const file = path.join(dir, 'admission.yaml');
    writeFileSync(file, 'environments:\n  prod: { namespaces: [prod] }\n');
    expect(() => preflight(testConfig({ WAYBILL_ADMISSION_CONFIG: file }))).toThrow(
      /admission\.yaml: invalid admission configuration:\n {2}environments\.prod: unknown environment/,
    );
    expect(() => preflight(testConfig({ WAYBILL_ADMISSION_CONFIG: path.join(dir, 'missing.yaml') }))).toThrow(
      /missing\.yaml: invalid admission configuration:\n {2}cannot read: ENOENT/,
    );
    writeFileSync(file, 'environments:\n  production: { namespaces: [prod] }\n');
    expect(preflight(testConfig({ WAYBILL_ADMISSION_CONFIG: file })).admission?.environments).toEqual([
      { environment: 'production', namespaces: ['prod'], enforcement: 'enforce' },
    ]);
  });
});
