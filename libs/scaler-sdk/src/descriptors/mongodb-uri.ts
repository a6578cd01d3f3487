/**
 * Vetting of a tenant's MongoDB connection string (issue 17) before any client is created.
 *
 * The driver acts on many URI options with the controller's own rights: `MONGODB-OIDC` with
 * `authMechanismProperties=ENVIRONMENT:k8s` sends the controller's service-account token to the
 * server in the string, `MONGODB-AWS` / `ENVIRONMENT:azure|gcp` send cloud credentials, `*File`
 * options read files on the controller, proxy options route the connection elsewhere. Only the
 * options below are accepted; everything else, unknown options included, is refused by name.
 */
import { ConnectionString } from 'mongodb-connection-string-url';

/** The authentication mechanisms a trigger may use: they only send what the trigger itself gives. */
export const MONGODB_ALLOWED_MECHANISMS = ['SCRAM-SHA-1', 'SCRAM-SHA-256', 'MONGODB-X509'] as const;
export type MongodbMechanism = (typeof MONGODB_ALLOWED_MECHANISMS)[number];

/**
 * URI options accepted as they are. `tlsAllowInvalidCertificates` / `tlsAllowInvalidHostnames` /
 * `tlsInsecure` are allowed like `unsafeSsl` of the HTTP scalers: they weaken only the tenant's
 * own connection (the controller sends no credential of its own over it).
 */
export const MONGODB_ALLOWED_OPTIONS = [
  'appName',
  'authMechanism',
  'authSource',
  'compressors',
  'connectTimeoutMS',
  'directConnection',
  'heartbeatFrequencyMS',
  'journal',
  'loadBalanced',
  'localThresholdMS',
  'maxConnecting',
  'maxIdleTimeMS',
  'maxPoolSize',
  'maxStalenessSeconds',
  'minPoolSize',
  'readConcernLevel',
  'readPreference',
  'readPreferenceTags',
  'replicaSet',
  'retryReads',
  'retryWrites',
  'serverSelectionTimeoutMS',
  'socketTimeoutMS',
  'srvMaxHosts',
  'srvServiceName',
  'ssl',
  'timeoutMS',
  'tls',
  'tlsAllowInvalidCertificates',
  'tlsAllowInvalidHostnames',
  'tlsInsecure',
  'w',
  'waitQueueTimeoutMS',
  'wtimeoutMS',
  'zlibCompressionLevel',
] as const;

const ALLOWED = new Map(MONGODB_ALLOWED_OPTIONS.map((o) => [o.toLowerCase(), o]));

/** Why a refused option is dangerous, for the message. */
function refusalReason(option: string): string {
  const lower = option.toLowerCase();
  if (lower.includes('file'))
    return 'it makes the controller read a file (give certificates as the "ca", "cert" and "key" parameters of a TriggerAuthentication)';
  if (lower.startsWith('proxy')) return 'it sends the connection through a proxy';
  if (lower === 'authmechanismproperties') return "it can make the driver authenticate with the controller's own cloud or Kubernetes identity";
  return 'it is not a supported option';
}

const MECHANISM_REASONS: Record<string, string> = {
  'MONGODB-OIDC': "it authenticates with the controller's own Kubernetes or cloud identity",
  'MONGODB-AWS': "it authenticates with the controller's own AWS credentials",
  GSSAPI: "it authenticates with the controller's Kerberos credentials",
  PLAIN: 'LDAP proxy authentication (PLAIN) is not supported',
  'MONGODB-CR': 'it is not supported',
  DEFAULT: 'it is not supported (leave authMechanism out to negotiate SCRAM)',
};

export interface VettedMongodbUri {
  /** The mechanism the URI asks for (already vetted), to be passed explicitly to the driver. */
  mechanism?: MongodbMechanism;
}

/** An option name safe to quote (a secret connection string shows nothing else of itself). */
const shownName = (name: string) => (/^[A-Za-z0-9_]{1,64}$/.test(name) ? JSON.stringify(name) : 'with an invalid name');

/**
 * Checks the options of `uri`. `parameter` is the parameter named in messages (`connectionString`,
 * or `host` when the URI was built from the separate parameters). A URI the parser rejects is
 * left to the driver's own check, which reports it with secrets redacted.
 */
export function vetMongodbUri(uri: string, parameter: string): VettedMongodbUri | { error: string } {
  let parsed: ConnectionString;
  try {
    parsed = new ConnectionString(uri);
  } catch {
    return {};
  }
  let mechanism: MongodbMechanism | undefined;
  for (const [name, value] of parsed.searchParams) {
    const known = ALLOWED.get(name.toLowerCase());
    if (!known) {
      return {
        error: `parameter "${parameter}" option ${shownName(name)} is not allowed: ${refusalReason(name)}; allowed options are [${MONGODB_ALLOWED_OPTIONS.join(' ')}]`,
      };
    }
    if (known === 'authMechanism') {
      const upper = value.toUpperCase();
      if (!(MONGODB_ALLOWED_MECHANISMS as readonly string[]).includes(upper)) {
        const reason = MECHANISM_REASONS[upper];
        return {
          error: `parameter "${parameter}" authMechanism ${reason ? JSON.stringify(upper) : 'value'} is not allowed: ${reason ?? 'it is not supported'}; allowed mechanisms are [${MONGODB_ALLOWED_MECHANISMS.join(' ')}]`,
        };
      }
      mechanism = upper as MongodbMechanism;
    }
  }
  return { mechanism };
}

/** Characters that would end the host part of a URI built from `host` (and start options). */
export const MONGODB_HOST_FORBIDDEN = /[/?#@,\s\\]/;
