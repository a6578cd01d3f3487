import { Command, CommanderError, Option } from 'commander';
import { formatDuration, parseDuration } from './duration';

/** A host and port; an empty host means "all interfaces" for bind addresses. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * One command-line option, declared once. The same declaration drives flag parsing,
 * the environment-variable fallback, validation and the `--help` text.
 */
export interface OptionSpec<T> {
  /** Flag name without leading dashes, e.g. `log-level`. */
  readonly flag: string;
  /** Environment variable consulted when the flag is absent. */
  readonly env?: string;
  readonly description: string;
  readonly defaultValue: T;
  /** The default as shown in `--help`. */
  readonly defaultText: string;
  /** What a valid value looks like, used in errors, e.g. "one of debug, info". */
  readonly expected: string;
  /** Placeholder in the usage line, e.g. `<duration>`; `[bool]` makes the value optional (`--flag` alone means true). */
  readonly placeholder: string;
  /** Secret values are redacted by {@link describeConfig}. */
  readonly secret: boolean;
  /** Returns the parsed value or undefined when `raw` is invalid. */
  parse(raw: string): T | undefined;
  /** The value in flag syntax, for logs. */
  format(value: T): unknown;
}

export type OptionSchema = Record<string, OptionSpec<unknown>>;
export type ConfigOf<S extends OptionSchema> = {
  readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never;
};

interface OptionInit {
  flag: string;
  env?: string;
  description: string;
  secret?: boolean;
  /** Overrides the usage placeholder, e.g. `<path>` instead of `<string>`. */
  placeholder?: string;
}

function defineOption<T>(
  init: OptionInit,
  rest: Pick<OptionSpec<T>, 'defaultValue' | 'defaultText' | 'expected' | 'placeholder' | 'parse'> &
    Partial<Pick<OptionSpec<T>, 'format'>>,
): OptionSpec<T> {
  if (!/^[a-z][a-z0-9-]*$/.test(init.flag))
    throw new Error(`option flag "${init.flag}" must be kebab-case without dashes in front`);
  return {
    flag: init.flag,
    env: init.env,
    description: init.description,
    secret: init.secret ?? false,
    format: (value) => value,
    ...rest,
    placeholder: init.placeholder ?? rest.placeholder,
  };
}

const BOOL_VALUES: Record<string, boolean> = {
  true: true,
  '1': true,
  yes: true,
  false: false,
  '0': false,
  no: false,
};

/** Parses `[host]:port`, `host:port` or `:port`. */
export function parseHostPort(raw: string, { requireHost = false } = {}): HostPort | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(raw.trim());
  if (!match) return undefined;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port > 65535 || (requireHost && host === '')) return undefined;
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Builders for option declarations, one per value type. */
export const option = {
  string(
    init: OptionInit & { default?: string; check?: (value: string) => boolean; expected?: string },
  ): OptionSpec<string> {
    const defaultValue = init.default ?? '';
    return defineOption(init, {
      defaultValue,
      defaultText: JSON.stringify(defaultValue),
      expected: init.expected ?? 'a string',
      placeholder: '<string>',
      parse: (raw) => (init.check && !init.check(raw) ? undefined : raw),
    });
  },

  int(init: OptionInit & { default: number; min?: number; max?: number }): OptionSpec<number> {
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = init;
    const range = init.min !== undefined || init.max !== undefined ? ` between ${min} and ${max}` : '';
    return defineOption(init, {
      defaultValue: init.default,
      defaultText: String(init.default),
      expected: `an integer${range}`,
      placeholder: '<int>',
      parse: (raw) => {
        if (!/^[+-]?\d+$/.test(raw.trim())) return undefined;
        const value = Number(raw);
        return value >= min && value <= max ? value : undefined;
      },
    });
  },

  bool(init: OptionInit & { default?: boolean }): OptionSpec<boolean> {
    const defaultValue = init.default ?? false;
    return defineOption(init, {
      defaultValue,
      defaultText: String(defaultValue),
      expected: 'true or false',
      placeholder: '[bool]',
      parse: (raw) => BOOL_VALUES[raw.trim().toLowerCase()],
    });
  },

  /** A Go-style duration such as `30s`, `1m30s` or `500ms`; the value is in milliseconds. */
  duration(init: OptionInit & { default: string }): OptionSpec<number> {
    const defaultValue = parseDuration(init.default);
    if (defaultValue === undefined)
      throw new Error(`default "${init.default}" of --${init.flag} is not a valid duration`);
    return defineOption(init, {
      defaultValue,
      defaultText: formatDuration(defaultValue),
      expected: 'a duration such as 30s, 1m30s or 500ms',
      placeholder: '<duration>',
      parse: parseDuration,
      format: formatDuration,
    });
  },

  enum<const V extends readonly [string, ...string[]]>(
    init: OptionInit & { values: V; default: V[number] },
  ): OptionSpec<V[number]> {
    return defineOption(init, {
      defaultValue: init.default,
      defaultText: init.default,
      expected: `one of ${init.values.join(', ')}`,
      placeholder: `<${init.values.join('|')}>`,
      parse: (raw) => init.values.find((value) => value === raw.trim()),
    });
  },

  /** A `[host]:port` address. For bind addresses the host may be empty (`:8081`). */
  address(init: OptionInit & { default: string; requireHost?: boolean }): OptionSpec<HostPort> {
    const requireHost = init.requireHost ?? false;
    const defaultValue = parseHostPort(init.default, { requireHost });
    if (!defaultValue) throw new Error(`default "${init.default}" of --${init.flag} is not a valid address`);
    return defineOption(init, {
      defaultValue,
      defaultText: init.default,
      expected: requireHost ? 'host:port' : '[host]:port, e.g. :8081 or 127.0.0.1:8081',
      placeholder: requireHost ? '<host:port>' : '<[host]:port>',
      parse: (raw) => parseHostPort(raw, { requireHost }),
      format: formatHostPort,
    });
  },
};

export interface CommandInfo {
  /** Program name shown in usage and errors. */
  name: string;
  description: string;
  version: string;
}

export interface ParseConfigOptions {
  /** User arguments, i.e. without the node binary and script (default: process.argv.slice(2)). */
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** Where `--help` and `--version` output goes (default: stdout). */
  writeOut?: (text: string) => void;
}

/**
 * Thrown by {@link parseConfig} when the process should stop: exit code 0 after
 * `--help`/`--version`, 2 for a usage error (message says what was wrong).
 */
export class CommandLineExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CommandLineExit';
  }
}

export const USAGE_ERROR_EXIT_CODE = 2;

function helpText(spec: OptionSpec<unknown>): string {
  const env = spec.env ? ` [env: ${spec.env}]` : '';
  return `${spec.description}${env} (default: ${spec.defaultText})`;
}

function assertUnique(schema: OptionSchema): void {
  const seen = new Set<string>();
  for (const spec of Object.values(schema)) {
    for (const name of [`--${spec.flag}`, spec.env ? `$${spec.env}` : undefined]) {
      if (!name) continue;
      if (seen.has(name)) throw new Error(`option ${name} is declared twice`);
      seen.add(name);
    }
  }
}

/**
 * Parses flags, then environment variables, then defaults (in that order of precedence).
 * Empty environment variables count as unset, as Kubernetes manifests often template them empty.
 */
export function parseConfig<S extends OptionSchema>(
  command: CommandInfo,
  schema: S,
  options: ParseConfigOptions = {},
): ConfigOf<S> {
  assertUnique(schema);
  const {
    argv = process.argv.slice(2),
    env = process.env,
    writeOut = (text) => process.stdout.write(text),
  } = options;

  const program = new Command(command.name)
    .description(command.description)
    .version(command.version, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .allowExcessArguments(false)
    // One line per option, independent of the terminal, so help stays greppable (e.g. for env var names).
    .configureHelp({ helpWidth: Number.MAX_SAFE_INTEGER })
    .exitOverride()
    // Errors are reported by the caller with consistent wording, so commander stays quiet.
    .configureOutput({ writeOut, writeErr: () => undefined, outputError: () => undefined });
  const attributes = new Map<string, string>();
  for (const [key, spec] of Object.entries(schema)) {
    const flagOption = new Option(`--${spec.flag} ${spec.placeholder}`, helpText(spec));
    attributes.set(key, flagOption.attributeName());
    program.addOption(flagOption);
  }
  program.addHelpText(
    'after',
    '\nFlags take precedence over environment variables, which take precedence over defaults.\n',
  );

  try {
    program.parse([...argv], { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
      throw new CommandLineExit(0, '');
    throw new CommandLineExit(USAGE_ERROR_EXIT_CODE, err.message.replace(/^error: /, ''));
  }

  const flagValues = program.opts<Record<string, string | true | undefined>>();
  const config: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(schema)) {
    const flagValue = flagValues[attributes.get(key) as string];
    const envValue = spec.env ? env[spec.env] : undefined;
    let raw: string;
    let source: string;
    if (flagValue !== undefined) {
      raw = flagValue === true ? 'true' : flagValue;
      source = `flag --${spec.flag}`;
    } else if (spec.env && envValue !== undefined && envValue !== '') {
      raw = envValue;
      source = `environment variable ${spec.env} (--${spec.flag})`;
    } else {
      config[key] = spec.defaultValue;
      continue;
    }
    const value = spec.parse(raw);
    if (value === undefined) {
      problems.push(`invalid value ${JSON.stringify(raw)} for ${source}: expected ${spec.expected}`);
    } else {
      config[key] = value;
    }
  }
  if (problems.length > 0) throw new CommandLineExit(USAGE_ERROR_EXIT_CODE, problems.join('\n'));
  return config as ConfigOf<S>;
}

export interface LoadConfigOptions extends ParseConfigOptions {
  writeErr?: (text: string) => void;
  exit?: (code: number) => never;
}

/** {@link parseConfig} for a process entry point: prints help or errors and exits when asked to. */
export function loadConfig<S extends OptionSchema>(
  command: CommandInfo,
  schema: S,
  options: LoadConfigOptions = {},
): ConfigOf<S> {
  const { writeErr = (text) => process.stderr.write(text), exit = (code) => process.exit(code) } = options;
  try {
    return parseConfig(command, schema, options);
  } catch (err) {
    if (!(err instanceof CommandLineExit)) throw err;
    if (err.exitCode !== 0) {
      writeErr(
        `${command.name}: ${err.message.split('\n').join(`\n${command.name}: `)}\nRun '${command.name} --help' for usage.\n`,
      );
    }
    return exit(err.exitCode);
  }
}

/** The configuration as safe to log: secrets redacted, addresses and durations in their flag syntax. */
export function describeConfig<S extends OptionSchema>(
  schema: S,
  config: ConfigOf<S>,
): Record<string, unknown> {
  const described: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const value = (config as Record<string, unknown>)[key];
    if (spec.secret) {
      described[key] = value === '' || value === undefined ? value : '[redacted]';
    } else {
      described[key] = spec.format(value);
    }
  }
  return described;
}
