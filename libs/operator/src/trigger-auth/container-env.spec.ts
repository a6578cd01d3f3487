import { containerEnv, expandEnvValue, pickContainer, type AuthSnapshot, type EnvScope } from './container-env';
import { TriggerAuthError, type EnvContainer } from './types';

const objects: Record<string, Record<string, string>> = {
  'Secret/ns/creds': { PASSWORD: 's3cr3t-value', USER: 'admin' },
  'ConfigMap/ns/settings': { HOST: 'db.local', PORT: '5432' },
};
const snapshot: AuthSnapshot = {
  secret: (namespace, name) => (objects[`Secret/${namespace}/${name}`] ? { data: objects[`Secret/${namespace}/${name}`] } : { problem: 'not found' }),
  configMap: (namespace, name) =>
    objects[`ConfigMap/${namespace}/${name}`] ? { data: objects[`ConfigMap/${namespace}/${name}`] } : { problem: 'not found' },
};
const scope: EnvScope = { namespace: 'ns', secretsAllowed: true, owner: 'ScaledObject ns/so' };

describe('expandEnvValue', () => {
  it.each([
    ['plain', 'abc', 'abc'],
    ['known ref', 'http://$(HOST):80', 'http://db.local:80'],
    ['unknown ref left as is', '$(NOPE)/x', '$(NOPE)/x'],
    ['escaped dollar', '$$(HOST)', '$(HOST)'],
    ['double dollar alone', 'a$$b', 'a$b'],
    ['unterminated', 'x$(HOST', 'x$(HOST'],
    ['lone dollar', 'cost $5', 'cost $5'],
    ['trailing dollar', 'x$', 'x$'],
    ['two refs', '$(HOST):$(PORT)', 'db.local:5432'],
  ])('%s', (_name, input, want) => {
    expect(expandEnvValue(input, { HOST: 'db.local', PORT: '5432' })).toBe(want);
  });
});

describe('pickContainer', () => {
  const template = { spec: { containers: [{ name: 'a' }, { name: 'b' }] } };
  it.each([
    ['first by default', undefined, 'a'],
    ['named', 'b', 'b'],
    ['missing', 'c', undefined],
  ])('%s', (_n, name, want) => {
    expect(pickContainer(template, name)?.name).toBe(want);
  });
  it('no template', () => expect(pickContainer(undefined)).toBeUndefined());
});

describe('containerEnv', () => {
  const cases: [string, EnvContainer, EnvScope, Record<string, string>][] = [
    ['literal values', { name: 'c', env: [{ name: 'A', value: '1' }, { name: 'B' }] }, scope, { A: '1', B: '' }],
    [
      'envFrom first, then env overrides, with prefixes',
      {
        name: 'c',
        envFrom: [{ configMapRef: { name: 'settings' } }, { prefix: 'DB_', secretRef: { name: 'creds' } }],
        env: [{ name: 'HOST', value: 'override' }, { name: 'URL', value: 'pg://$(DB_USER)@$(HOST):$(PORT)' }],
      },
      scope,
      { HOST: 'override', PORT: '5432', DB_PASSWORD: 's3cr3t-value', DB_USER: 'admin', URL: 'pg://admin@override:5432' },
    ],
    [
      'valueFrom secretKeyRef and configMapKeyRef',
      {
        name: 'c',
        env: [
          { name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASSWORD' } } },
          { name: 'H', valueFrom: { configMapKeyRef: { name: 'settings', key: 'HOST' } } },
          { name: 'F', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ],
      },
      scope,
      { P: 's3cr3t-value', H: 'db.local' },
    ],
    [
      'optional sources that are missing are skipped',
      {
        name: 'c',
        envFrom: [{ secretRef: { name: 'gone', optional: true } }],
        env: [
          { name: 'X', valueFrom: { configMapKeyRef: { name: 'settings', key: 'NOKEY', optional: true } } },
          { name: 'Y', valueFrom: { secretKeyRef: { name: 'gone', key: 'k', optional: true } } },
        ],
      },
      scope,
      {},
    ],
    [
      'secret sources skipped when secrets are not allowed (restricted access)',
      {
        name: 'c',
        envFrom: [{ secretRef: { name: 'creds' } }, { configMapRef: { name: 'settings' } }],
        env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASSWORD' } } }],
      },
      { ...scope, secretsAllowed: false },
      { HOST: 'db.local', PORT: '5432' },
    ],
  ];
  it.each(cases)('%s', (_name, container, s, want) => {
    expect(containerEnv(container, s, snapshot)).toEqual(want);
  });

  it.each([
    ['missing envFrom configMap', { name: 'c', envFrom: [{ configMapRef: { name: 'gone' } }] }, 'container "c" of ScaledObject ns/so: envFrom configMapRef "gone": not found'],
    ['missing envFrom secret', { name: 'c', envFrom: [{ secretRef: { name: 'gone' } }] }, 'envFrom secretRef "gone": not found'],
    [
      'missing secret key',
      { name: 'c', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'NOPE' } } }] },
      'env "P" valueFrom.secretKeyRef "creds": has no key "NOPE"',
    ],
  ] as [string, EnvContainer, string][])('%s is an error naming the source', (_name, container, message) => {
    let caught: unknown;
    try {
      containerEnv(container, scope, snapshot);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TriggerAuthError);
    expect((caught as Error).message).toContain(message);
    expect((caught as Error).message).not.toContain('s3cr3t-value');
  });
});
