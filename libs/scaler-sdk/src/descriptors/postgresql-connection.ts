/**
 * libpq connection strings (`host=db port=5432 user=keda password='a b' dbname=app sslmode=require`
 * or `postgresql://user:pass@host:5432/db?sslmode=require`) parsed into the settings the
 * postgresql scaler connects with. Errors name the keyword, never a value.
 */

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  sslmode: SslMode;
  /**
   * File paths, as in libpq. Read only when the connection string came from a
   * ClusterTriggerAuthentication and under the operator's file root (vetted-file.ts).
   */
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  /** PEM content from the TriggerAuthentication parameters `ca`, `cert`, `key` (preferred over files). */
  ca?: string;
  cert?: string;
  key?: string;
  /** From `connect_timeout` (seconds in the string). */
  connectTimeoutMs?: number;
}

const KEYWORDS = new Set([
  'host', 'hostaddr', 'port', 'user', 'password', 'dbname', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey',
  'connect_timeout', 'application_name',
]);

/** key=value pairs; values may be single-quoted (`\'` and `\\` escapes inside). */
function parseKeywordValue(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  for (;;) {
    skipSpace();
    if (i >= text.length) return out;
    const keyStart = i;
    while (i < text.length && /[A-Za-z0-9_]/.test(text[i])) i++;
    const key = text.slice(keyStart, i);
    skipSpace();
    if (!key || text[i] !== '=') throw new Error(`missing "=" after ${key ? `"${key}"` : `position ${keyStart}`}`);
    i++;
    skipSpace();
    let value = '';
    if (text[i] === "'") {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`unterminated quoted value of "${key}"`);
        const c = text[i++];
        if (c === "'") break;
        if (c === '\\' && i < text.length) value += text[i++];
        else value += c;
      }
    } else {
      while (i < text.length && !/\s/.test(text[i])) {
        const c = text[i++];
        if (c === '\\' && i < text.length) value += text[i++];
        else value += c;
      }
    }
    out[key] = value;
  }
}

function parseUri(text: string): Record<string, string> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('not a valid postgresql:// URI');
  }
  const out: Record<string, string> = {};
  if (url.hostname) out['host'] = decodeURIComponent(url.hostname.replace(/^\[|\]$/g, ''));
  if (url.port) out['port'] = url.port;
  if (url.username) out['user'] = decodeURIComponent(url.username);
  if (url.password) out['password'] = decodeURIComponent(url.password);
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (db) out['dbname'] = db;
  for (const [k, v] of url.searchParams) out[k] = v;
  return out;
}

/** Parses a libpq connection string; fills libpq's defaults (port 5432, sslmode prefer, dbname = user). */
export function parsePostgresConnection(text: string): PostgresTarget {
  const trimmed = text.trim();
  const kv = /^postgres(ql)?:\/\//i.test(trimmed) ? parseUri(trimmed) : parseKeywordValue(trimmed);
  for (const key of Object.keys(kv)) {
    if (!KEYWORDS.has(key)) throw new Error(`unsupported connection option "${key}"`);
  }
  const host = kv['host'] || kv['hostaddr'] || 'localhost';
  if (host.includes(',')) throw new Error('several hosts are not supported');
  if (host.startsWith('/')) throw new Error('unix-domain socket hosts are not supported');
  const port = Number(kv['port'] || '5432');
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('"port" must be a TCP port number');
  const sslmode = (kv['sslmode'] || 'prefer') as SslMode;
  if (!SSL_MODES.includes(sslmode)) throw new Error(`"sslmode" must be one of [${SSL_MODES.join(' ')}]`);
  const user = kv['user'] ?? '';
  if (!user) throw new Error('"user" is required');
  let connectTimeoutMs: number | undefined;
  if (kv['connect_timeout']) {
    const seconds = Number(kv['connect_timeout']);
    if (!Number.isInteger(seconds) || seconds < 0) throw new Error('"connect_timeout" must be a whole number of seconds');
    // libpq: 0 means wait forever, and values below 2 are raised to 2.
    connectTimeoutMs = seconds === 0 ? undefined : Math.max(2, seconds) * 1000;
  }
  return {
    host,
    port,
    user,
    database: kv['dbname'] || user,
    password: kv['password'],
    sslmode,
    sslrootcert: kv['sslrootcert'] || undefined,
    sslcert: kv['sslcert'] || undefined,
    sslkey: kv['sslkey'] || undefined,
    connectTimeoutMs,
  };
}
