import {
  CommandLineExit,
  describeConfig,
  loadConfig,
  option,
  parseConfig,
  parseHostPort,
  type ParseConfigOptions,
} from './config';
import { formatDuration, parseDuration } from './duration';

const command = { name: 'demo', description: 'A demo program.', version: '1.2.3' };
const schema = {
  logLevel: option.enum({
    flag: 'log-level',
    env: 'LOG_LEVEL',
    values: ['debug', 'info', 'warn', 'error'] as const,
    default: 'info',
    description: 'Log level.',
  }),
  workers: option.int({
    flag: 'workers',
    env: 'WORKERS',
    default: 4,
    min: 1,
    max: 64,
    description: 'Worker count.',
  }),
  timeout: option.duration({ flag: 'timeout', env: 'TIMEOUT', default: '30s', description: 'Timeout.' }),
  dryRun: option.bool({ flag: 'dry-run', env: 'DRY_RUN', description: 'Do nothing.' }),
  namespace: option.string({
    flag: 'namespace',
    env: 'NAMESPACE',
    default: 'default',
    description: 'Namespace.',
  }),
  address: option.address({
    flag: 'bind-address',
    env: 'BIND_ADDRESS',
    default: ':8081',
    description: 'Bind address.',
  }),
  token: option.string({ flag: 'token', env: 'TOKEN', description: 'API token.', secret: true }),
};

function parse(argv: string[], env: Record<string, string> = {}, extra: ParseConfigOptions = {}) {
  return parseConfig(command, schema, { argv, env, writeOut: () => undefined, ...extra });
}

function usageError(argv: string[], env: Record<string, string> = {}): CommandLineExit {
  try {
    parse(argv, env);
  } catch (err) {
    if (err instanceof CommandLineExit) return err;
    throw err;
  }
  throw new Error('expected a usage error');
}

describe('parseConfig', () => {
  it('uses defaults when neither flag nor env is set', () => {
    expect(parse([])).toEqual({
      logLevel: 'info',
      workers: 4,
      timeout: 30_000,
      dryRun: false,
      namespace: 'default',
      address: { host: '', port: 8081 },
      token: '',
    });
  });

  it('lets env override defaults and flags override env', () => {
    const env = { LOG_LEVEL: 'warn', WORKERS: '8', TIMEOUT: '1m', DRY_RUN: 'true', NAMESPACE: 'from-env' };
    expect(parse([], env)).toMatchObject({
      logLevel: 'warn',
      workers: 8,
      timeout: 60_000,
      dryRun: true,
      namespace: 'from-env',
    });
    expect(
      parse(
        [
          '--log-level',
          'debug',
          '--workers=2',
          '--timeout',
          '500ms',
          '--dry-run=false',
          '--namespace',
          'from-flag',
        ],
        env,
      ),
    ).toMatchObject({
      logLevel: 'debug',
      workers: 2,
      timeout: 500,
      dryRun: false,
      namespace: 'from-flag',
    });
  });

  it('treats an empty env var as unset', () => {
    expect(parse([], { NAMESPACE: '', WORKERS: '' })).toMatchObject({ namespace: 'default', workers: 4 });
  });

  it('accepts a bare bool flag as true', () => {
    expect(parse(['--dry-run']).dryRun).toBe(true);
  });

  it('parses bind addresses', () => {
    expect(parse(['--bind-address', '127.0.0.1:0']).address).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parse([], { BIND_ADDRESS: '[::1]:9000' }).address).toEqual({ host: '::1', port: 9000 });
  });

  it('rejects a bad flag value naming the flag and what is allowed, with exit code 2', () => {
    const err = usageError(['--log-level', 'verbose']);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(
      'invalid value "verbose" for flag --log-level: expected one of debug, info, warn, error',
    );
  });

  it('rejects a bad env value naming the variable and its flag', () => {
    const err = usageError([], { WORKERS: 'many', TIMEOUT: '30' });
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(
      'invalid value "many" for environment variable WORKERS (--workers): expected an integer between 1 and 64',
    );
    expect(err.message).toContain(
      'invalid value "30" for environment variable TIMEOUT (--timeout): expected a duration such as 30s, 1m30s or 500ms',
    );
  });

  it('rejects out-of-range ints, bad bools and bad addresses', () => {
    expect(usageError(['--workers', '0']).message).toContain('expected an integer between 1 and 64');
    expect(usageError(['--dry-run=maybe']).message).toContain('expected true or false');
    expect(usageError(['--bind-address', 'localhost']).message).toContain(
      'for flag --bind-address: expected [host]:port',
    );
  });

  it('rejects unknown flags and stray arguments with exit code 2', () => {
    expect(usageError(['--nope'])).toMatchObject({
      exitCode: 2,
      message: expect.stringContaining("unknown option '--nope'"),
    });
    expect(usageError(['extra'])).toMatchObject({ exitCode: 2 });
  });

  it('prints help listing every flag with its env var and default, and exits 0', () => {
    let out = '';
    let exit: CommandLineExit | undefined;
    try {
      parse(['--help'], {}, { writeOut: (text) => (out += text) });
    } catch (err) {
      exit = err as CommandLineExit;
    }
    expect(exit).toMatchObject({ exitCode: 0 });
    expect(out).toContain('Usage: demo');
    expect(out).toContain('--log-level <debug|info|warn|error>');
    expect(out).toMatch(/Log level\.\s+\[env: LOG_LEVEL\]\s+\(default: info\)/);
    expect(out).toMatch(/\[env: TIMEOUT\]\s+\(default: 30s\)/);
    expect(out).toMatch(/\[env: BIND_ADDRESS\]\s+\(default: :8081\)/);
    expect(out).toMatch(/\[env: NAMESPACE\]\s+\(default: "default"\)/);
  });

  it('rejects a schema that declares a flag twice', () => {
    const twice = {
      a: option.string({ flag: 'x', description: 'a' }),
      b: option.string({ flag: 'x', description: 'b' }),
    };
    expect(() => parseConfig(command, twice, { argv: [], env: {} })).toThrow('option --x is declared twice');
  });
});

describe('loadConfig', () => {
  it('prints the error with a usage hint and exits 2', () => {
    let err = '';
    const exit = jest.fn((code: number) => {
      throw new Error(`exit ${code}`);
    }) as unknown as (code: number) => never;
    expect(() =>
      loadConfig(command, schema, {
        argv: ['--workers', 'x'],
        env: {},
        writeErr: (text) => (err += text),
        exit,
      }),
    ).toThrow('exit 2');
    expect(err).toBe(
      'demo: invalid value "x" for flag --workers: expected an integer between 1 and 64\nRun \'demo --help\' for usage.\n',
    );
  });
});

describe('describeConfig', () => {
  it('redacts secrets and formats values in flag syntax', () => {
    const config = parse(['--token', 's3cr3t']);
    expect(describeConfig(schema, config)).toEqual({
      logLevel: 'info',
      workers: 4,
      timeout: '30s',
      dryRun: false,
      namespace: 'default',
      address: ':8081',
      token: '[redacted]',
    });
  });
});

describe('durations and addresses', () => {
  it.each([
    ['0', 0],
    ['250ms', 250],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', 's', '1d', '-1s'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());

  it('formats durations', () => {
    expect(formatDuration(90_500)).toBe('1m30s500ms');
    expect(formatDuration(0)).toBe('0s');
  });

  it('parses host:port forms', () => {
    expect(parseHostPort(':80')).toEqual({ host: '', port: 80 });
    expect(parseHostPort('svc.ns:9666', { requireHost: true })).toEqual({ host: 'svc.ns', port: 9666 });
    expect(parseHostPort(':9666', { requireHost: true })).toBeUndefined();
    expect(parseHostPort('host:99999')).toBeUndefined();
  });
});
