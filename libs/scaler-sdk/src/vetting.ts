/**
 * How values that name endpoints, connection strings and files are vetted: the `vetting` texts of
 * the parameter declarations (rendered in docs/security-endpoints.md). One text per mechanism, so
 * the table says the same thing for the same check.
 */
const EGRESS = "every connection passes the controller's egress policy after DNS resolution (link-local and cloud metadata addresses refused; operator deny/allow lists)";
const NO_ECHO = 'errors carry status codes, lengths and types, never bytes of a response or a server message';

export const VETTING = {
  httpUrl: `must be an absolute http:// or https:// URL (checked at validation); ${EGRESS}; shown without credentials or query; ${NO_ECHO}`,
  httpHostPort: `host:port only, no scheme or path (checked at validation); ${EGRESS}; ${NO_ECHO}`,
  amqpOrHttpUrl: `must be an amqp(s):// or http(s):// URL matching \`protocol\` (checked at validation); ${EGRESS}; broker reply texts are reported as reply codes only`,
  brokerList: `comma-separated host:port list, no empty entry (checked at validation); ${EGRESS}; broker errors are reported by error type only`,
  grpcTarget: `host:port or a gRPC target (checked at validation); the target's hosts are resolved and checked against the egress policy before the first call; gRPC status details are never shown`,
  redisAddress: `host:port (checked at validation); ${EGRESS}, sentinel-announced masters included; reply errors are reported by their prefix only`,
  sqlHost: `a host name or address; ${EGRESS}; server errors are reported as SQLSTATE / errno only`,
  postgresConnection: `parsed as a libpq string or postgresql:// URI (unknown options and Unix sockets refused); sslrootcert/sslcert/sslkey file paths refused unless the string comes from a ClusterTriggerAuthentication and the operator set --filepath-auth-root-path (then read under it: realpath, regular file, 64 KiB); ${EGRESS}; server errors as SQLSTATE only`,
  mysqlConnection: `parsed as a Go MySQL DSN (tcp only, no named TLS configs, unix sockets refused); ${EGRESS}; server errors as errno / SQLSTATE only`,
  mongodbConnection: `parsed with mongodb-connection-string-url before any client exists: only documented options (authSource, SCRAM-SHA-1/256 and MONGODB-X509, tls, replicaSet, timeouts, readPreference, ...); MONGODB-OIDC, MONGODB-AWS, GSSAPI, PLAIN, authMechanismProperties, every *File option, proxy options and unknown options refused by name; ${EGRESS}; server errors as code / codeName only`,
  mongodbHost: `a host name or address without "/", "?", "#", "@", "," or spaces (it is put into a URI, which is then vetted like connectionString); ${EGRESS}`,
  azureConnection: `an Azure Storage connection string; the endpoint it names is checked by the egress policy on every connection; service errors are reported as status and error code only; never echoed (secret)`,
  azureEndpointSuffix: `a DNS suffix of the storage endpoints (Private cloud); ${EGRESS}`,
  sqsQueueUrl: `an SQS queue URL or name; the endpoint is checked by the egress policy on every connection; service errors are reported by error name and HTTP status only`,
  awsEndpoint: `must be an absolute http:// or https:// URL (checked at validation); ${EGRESS}; service errors by error name and HTTP status only`,
  oauthTokenEndpoint: `must be a URL (checked before the token request); ${EGRESS}; only the status of a failed token request is reported`,
} as const;
