/** The TLS side of the HTTP scalers' authentication (the parameters are in @keda-ts/scaler-sdk). */
import type { HttpAuthConfig } from '@keda-ts/scaler-sdk';
import type { TlsSettings } from './agent-pool';

/** TLS settings of the shared agent: the client certificate only in `tls` mode. */
export function httpAuthTls(config: HttpAuthConfig, unsafeSsl: boolean): TlsSettings {
  const tls: TlsSettings = { unsafeSsl };
  if ((config.authModes ?? []).includes('tls')) Object.assign(tls, { ca: config.ca, cert: config.cert, key: config.key });
  return tls;
}
