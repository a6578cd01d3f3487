/**
 * Connection helpers that apply an EgressPolicy to every socket they open: `lookup` checks the
 * resolved addresses, and IP-literal hosts (for which Node never calls `lookup`) and metadata host
 * names are checked before the socket connects. A refused connection is a socket that emits the
 * EgressDeniedError without ever sending a packet.
 */
import { Agent as HttpAgent, type AgentOptions as HttpAgentOptions, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { Socket, connect as netConnect, type TcpNetConnectOpts } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { EgressDeniedError, type EgressPolicy } from './egress-policy';

/** A socket that fails with `err` on the next tick and never connects. */
export function refusedSocket(err: Error): Socket {
  const socket = new Socket();
  process.nextTick(() => socket.destroy(err));
  return socket;
}

/** net.connect under the policy. */
export function egressNetConnect(policy: EgressPolicy, options: TcpNetConnectOpts, onConnect?: () => void): Socket {
  const denied = policy.hostError(options.host ?? 'localhost');
  if (denied) return refusedSocket(denied);
  return netConnect({ ...options, lookup: policy.lookup }, onConnect);
}

/** tls.connect under the policy (`host` and `port` required; `socket` is not supported). */
export function egressTlsConnect(policy: EgressPolicy, options: ConnectionOptions & { host: string; port: number }, onSecure?: () => void): TLSSocket | Socket {
  const denied = policy.hostError(options.host);
  if (denied) return refusedSocket(denied);
  return tlsConnect({ ...options, lookup: policy.lookup }, onSecure);
}

function hostOf(options: ClientRequestArgs): string {
  return String(options.host ?? options.hostname ?? 'localhost');
}

/**
 * An http.Agent whose sockets go through the policy. `createConnection` is the documented hook
 * for custom agents; a refused host reaches the request as its 'error'.
 */
export class EgressHttpAgent extends HttpAgent {
  constructor(
    readonly policy: EgressPolicy,
    options: HttpAgentOptions = {},
  ) {
    super({ ...options, lookup: policy.lookup });
  }

  override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const denied = options.socketPath ? undefined : this.policy.hostError(hostOf(options));
    if (denied) return refusedSocket(denied);
    return super.createConnection({ ...options, lookup: this.policy.lookup }, callback);
  }
}

/** The https.Agent counterpart of EgressHttpAgent. */
export class EgressHttpsAgent extends HttpsAgent {
  constructor(
    readonly policy: EgressPolicy,
    options: HttpsAgentOptions = {},
  ) {
    super({ ...options, lookup: policy.lookup });
  }

  override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const denied = options.socketPath ? undefined : this.policy.hostError(hostOf(options));
    if (denied) return refusedSocket(denied);
    return super.createConnection({ ...options, lookup: this.policy.lookup }, callback);
  }
}

/**
 * A net.Socket whose connect() goes through the policy, for clients that create a socket through a
 * public factory option and then call `connect(port, host)` on it themselves (pg's `stream`).
 * Unix domain socket paths are refused: they would be file paths chosen by a tenant.
 */
export class EgressSocket extends Socket {
  constructor(private readonly policy: EgressPolicy) {
    super();
  }

  // One signature for net.Socket's overloads: (options, cb?) | (port, host?, cb?) | (path, cb?).
  override connect(...args: unknown[]): this {
    const callback = args.find((a): a is () => void => typeof a === 'function');
    const [first, second] = args;
    let options: TcpNetConnectOpts;
    if (typeof first === 'object' && first !== null) {
      if ('path' in first && (first as { path?: unknown }).path) return this.refuse(unixSocketRefusal());
      options = first as TcpNetConnectOpts;
    } else if (typeof first === 'string' && !/^\d+$/.test(first)) {
      return this.refuse(unixSocketRefusal());
    } else {
      options = { port: Number(first), host: typeof second === 'string' ? second : 'localhost' };
    }
    const denied = this.policy.hostError(options.host ?? 'localhost');
    if (denied) return this.refuse(denied);
    return super.connect({ ...options, lookup: this.policy.lookup }, callback);
  }

  private refuse(err: Error): this {
    process.nextTick(() => this.destroy(err));
    return this;
  }
}

function unixSocketRefusal(): EgressDeniedError {
  return new EgressDeniedError('a Unix domain socket', undefined, 'scalers connect over TCP only');
}
