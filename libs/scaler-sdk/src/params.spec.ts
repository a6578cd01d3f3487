import { lookupParam, param, parseGoDuration, parseParams } from './params';

const inputs = (metadata: Record<string, string> = {}, authParams: Record<string, string> = {}, resolvedEnv: Record<string, string> = {}) => ({
  metadata,
  authParams,
  resolvedEnv,
});

describe('lookupParam', () => {
  const p = param.string({ name: ['host', 'hosts'], order: ['triggerMetadata', 'resolvedEnv', 'authParams'], description: '' });

  it.each([
    ['metadata first', inputs({ host: 'm' }, { host: 'a' }), 'm', 'triggerMetadata'],
    ['trimmed', inputs({ host: '  m  ' }), 'm', 'triggerMetadata'],
    ['blank counts as missing', inputs({ host: '   ' }, { host: 'a' }), 'a', 'authParams'],
    ['alias', inputs({ hosts: 'x' }), 'x', 'triggerMetadata'],
    ['env via <name>FromEnv', inputs({ hostFromEnv: 'HOST' }, { host: 'a' }, { HOST: 'e' }), 'e', 'resolvedEnv'],
    ['env name missing from env', inputs({ hostFromEnv: 'NOPE' }, { host: 'a' }, {}), 'a', 'authParams'],
  ])('%s', (_, given, raw, source) => {
    expect(lookupParam(p, given)).toMatchObject({ raw, source });
  });

  it('returns undefined when nothing is set', () => {
    expect(lookupParam(p, inputs())).toBeUndefined();
  });

  it('does not read inherited keys', () => {
    expect(lookupParam(param.string({ name: 'toString', order: ['triggerMetadata'], description: '' }), inputs())).toBeUndefined();
  });
});

describe('parseParams', () => {
  const specs = {
    name: param.string({ name: 'name', order: ['triggerMetadata', 'authParams'], description: '' }),
    count: param.int({ name: 'count', order: ['triggerMetadata'], default: '5', min: 1, description: '' }),
    ratio: param.float({ name: 'ratio', order: ['triggerMetadata'], optional: true, description: '' }),
    flag: param.bool({ name: 'flag', order: ['triggerMetadata'], default: 'false', description: '' }),
    mode: param.enum(['a', 'b'], { name: 'mode', order: ['triggerMetadata'], default: 'a', description: '' }),
    wait: param.duration({ name: 'wait', order: ['triggerMetadata'], optional: true, description: '' }),
    tags: param.list({ name: 'tags', order: ['triggerMetadata'], optional: true, separator: ';', description: '' }),
    headers: param.map({ name: 'headers', order: ['triggerMetadata'], optional: true, description: '' }),
    size: param.quantity({ name: 'size', order: ['triggerMetadata'], optional: true, description: '' }),
    secret: param.string({ name: 'secret', order: ['authParams'], optional: true, secret: true, description: '' }),
    old: param.string({ name: 'old', order: ['triggerMetadata'], optional: true, deprecated: 'The old setting is gone', description: '' }),
    soon: param.string({ name: 'soon', order: ['triggerMetadata'], optional: true, deprecatedAnnounce: 'soon goes away', description: '' }),
    modes: param.list({ name: ['authModes', 'authMode'], order: ['triggerMetadata'], optional: true, values: ['x', 'y', 'z'], exclusiveSet: ['x', 'y'], description: '' }),
  };

  it('parses every kind and applies defaults', () => {
    const r = parseParams(
      specs,
      inputs({
        name: 'n',
        ratio: '0.5',
        flag: 'True',
        mode: 'b',
        wait: '1m30s',
        tags: 'a; b',
        headers: 'k1=v1, k2 = v2',
        size: '256Mi',
        soon: 'x',
        authMode: 'x,z',
      }),
      'test',
    );
    expect(r.problems).toEqual([]);
    expect(r.config).toEqual({
      name: 'n',
      count: 5,
      ratio: 0.5,
      flag: true,
      mode: 'b',
      wait: 90_000,
      tags: ['a', 'b'],
      headers: { k1: 'v1', k2: 'v2' },
      size: 268435456,
      secret: undefined,
      old: undefined,
      soon: 'x',
      modes: ['x', 'z'],
    });
    expect(r.notices).toEqual(['scaler test info: soon goes away']);
  });

  it.each<[string, Record<string, string>, Record<string, string>, string[]]>([
    ['missing required', {}, {}, ['missing required parameter "name" in [triggerMetadata authParams]']],
    ['enum', { name: 'n', mode: 'c' }, {}, ['parameter "mode" value "c" must be one of [a b]']],
    ['list enum uses the alias display name', { name: 'n', authModes: 'x,w' }, {}, ['parameter "authModes,authMode" value "x,w" must be one of [x y z]']],
    ['exclusive set', { name: 'n', authModes: 'x,y' }, {}, ['parameter "authModes,authMode" value "x,y" must contain only one of [x y]']],
    ['int', { name: 'n', count: '1.5' }, {}, ['unable to set param "count" value "1.5": must be an integer']],
    ['int range', { name: 'n', count: '0' }, {}, ['unable to set param "count" value "0": must be >= 1']],
    ['float', { name: 'n', ratio: 'abc' }, {}, ['unable to set param "ratio" value "abc": must be a number']],
    ['bool', { name: 'n', flag: 'yes' }, {}, ['unable to set param "flag" value "yes": must be a boolean (true or false)']],
    ['duration', { name: 'n', wait: 'soon' }, {}, ["unable to set param \"wait\" value \"soon\": must be either a duration string (e.g. '30s', '5m') or a number of milliseconds"]],
    ['map', { name: 'n', headers: 'a=b,c' }, {}, ['unable to set param "headers" value "a=b,c": expected format key=value, got "c"']],
    ['quantity', { name: 'n', size: '12xyz' }, {}, ['unable to set param "size" value "12xyz": must be a Kubernetes quantity such as 500m, 2 or 256Mi']],
    ['deprecated is a hard error', { name: 'n', old: 'v' }, {}, ['scaler test info: The old setting is gone']],
    [
      'collects every problem',
      { count: 'x', mode: 'q' },
      {},
      [
        'missing required parameter "name" in [triggerMetadata authParams]',
        'unable to set param "count" value "x": must be an integer',
        'parameter "mode" value "q" must be one of [a b]',
      ],
    ],
  ])('%s', (_, metadata, auth, messages) => {
    expect(parseParams(specs, inputs(metadata, auth), 'test').problems.map((p) => p.message)).toEqual(messages);
  });

  it('names the parameter of each problem', () => {
    expect(parseParams(specs, inputs({ name: 'n', count: 'x' }), 'test').problems).toEqual([
      { parameter: 'count', message: 'unable to set param "count" value "x": must be an integer' },
    ]);
  });

  it('never echoes secret values', () => {
    const s = { key: param.int({ name: 'key', order: ['authParams'], secret: true, description: '' }) };
    const [problem] = parseParams(s, inputs({}, { key: 'hunter2' }), 'test').problems;
    expect(problem.message).toBe('unable to set param "key" value "<redacted>": must be an integer');
  });

  it.each([
    ['an enum from authParams', { mode: param.enum(['a', 'b'], { name: 'mode', order: ['authParams'], description: '' }) }, inputs({}, { mode: 'hunter2' }), 'parameter "mode" value "<redacted>" must be one of [a b]'],
    ['an int from resolvedEnv', { port: param.int({ name: 'port', order: ['resolvedEnv'], description: '' }) }, inputs({ portFromEnv: 'P' }, {}, { P: 'hunter2' }), 'unable to set param "port" value "<redacted>": must be an integer'],
    ['a map from authParams', { hdr: param.map({ name: 'hdr', order: ['authParams'], description: '' }) }, inputs({}, { hdr: 'hunter2' }), 'unable to set param "hdr" value "<redacted>": expected format key=value'],
  ] as const)('never echoes values that came from a TriggerAuthentication or the container env: %s', (_name, s, input, message) => {
    const [problem] = parseParams(s as never, input, 'test').problems;
    expect(problem.message).toBe(message);
    expect(problem.message).not.toContain('hunter2');
  });

  it('reports consumed metadata keys including <name>FromEnv', () => {
    const s = { host: param.string({ name: 'host', order: ['triggerMetadata', 'resolvedEnv'], description: '' }) };
    expect(parseParams(s, inputs({ host: 'h' }), 't').consumedMetadataKeys.sort()).toEqual(['host', 'hostFromEnv']);
  });
});

describe('parseGoDuration', () => {
  it.each([
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['2000us', 2],
    ['2000\u00b5s', 2], // micro sign
    ['2000\u03bcs', 2], // Greek mu
    ['1s500\u00b5s', 1000.5],
    ['1.5h', 5_400_000],
    ['1500', 1500],
    ['0', 0],
    ['-1s', -1000],
    ['x', undefined],
    ['10 s', undefined],
  ])('%s', (raw, ms) => expect(parseGoDuration(raw)).toBe(ms));
});
