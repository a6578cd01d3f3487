/**
 * Shared keep-alive agents: scalers that talk to the same origin with the same TLS settings share
 * one agent (and its sockets). Leases are reference-counted; the agent is destroyed when the last
 * lease is released. Keys hold a hash of the TLS material, never the material itself.
 */
import { createHash } from 'node:crypto';
import type { Agent as HttpAgent } from 'node:http';
import { rootCertificates } from 'node:tls';
import { EgressHttpAgent, EgressHttpsAgent } from '../net/egress-connect';
import { defaultEgressPolicy, type EgressPolicy } from '../net/egress-policy';

export interface TlsSettings {
  /** PEM CA added to the system roots. */
  ca?: string;
  /** PEM client certificate and key. */
  cert?: string;
  key?: string;
  /** Skip server certificate verification. */
  unsafeSsl?: boolean;
}

export interface AgentLease {
  readonly agent: HttpAgent;
  /** Idempotent. */
  release(): void;
}

interface Entry {
  agent: HttpAgent;
  refs: number;
}

export class AgentPool {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxSockets = 16) {}

  /**
   * A lease on the agent for `url`'s origin with these TLS settings. Every socket of the agent
   * goes through `egress` (resolved addresses and IP-literal hosts are checked).
   */
  acquire(url: URL, tls: TlsSettings = {}, egress: EgressPolicy = defaultEgressPolicy): AgentLease {
    const https = url.protocol === 'https:';
    const key = `${url.protocol}//${url.host}|${https ? tlsFingerprint(tls) : ''}|egress:${egress.id}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const common = { keepAlive: true, maxSockets: this.maxSockets };
      const agent = https
        ? new EgressHttpsAgent(egress, {
            ...common,
            ca: tls.ca ? [...rootCertificates, tls.ca] : undefined,
            cert: tls.cert || undefined,
            key: tls.key || undefined,
            rejectUnauthorized: !tls.unsafeSsl,
          })
        : new EgressHttpAgent(egress, common);
      entry = { agent, refs: 0 };
      this.entries.set(key, entry);
    }
    entry.refs += 1;
    const owned = entry;
    let released = false;
    return {
      agent: owned.agent,
      release: () => {
        if (released) return;
        released = true;
        owned.refs -= 1;
        if (owned.refs === 0) {
          owned.agent.destroy();
          if (this.entries.get(key) === owned) this.entries.delete(key);
        }
      },
    };
  }

  /** Number of live agents (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}

function tlsFingerprint(tls: TlsSettings): string {
  return createHash('sha256')
    .update(JSON.stringify([tls.ca ?? '', tls.cert ?? '', tls.key ?? '', Boolean(tls.unsafeSsl)]))
    .digest('hex');
}

/** The process-wide pool the HTTP scalers use. */
export const sharedAgentPool = new AgentPool();
