/**
 * The egress policy of scaler connections: which addresses a scaler may open a connection to.
 * Tenants (anyone who may create a ScaledObject or TriggerAuthentication in one namespace) choose
 * the hosts scalers connect to, so without a policy a trigger could read the cloud metadata
 * service through the controller.
 *
 * The decision is taken on the address actually connected to, after DNS resolution (`lookup`),
 * plus an up-front check of IP-literal hosts (Node does not call `lookup` for them) and of the
 * metadata host names (before DNS). Order of the checks of one address:
 *
 *  1. cloud metadata addresses: always refused (no setting lifts this);
 *  2. the operator's deny list (`--scaler-egress-deny-cidrs`): refused; deny wins over allow;
 *  3. link-local ranges 169.254.0.0/16 and fe80::/10: refused unless
 *     `--scaler-egress-allow-link-local` (the allow list does not lift this);
 *  4. the operator's allow list (`--scaler-egress-allow-cidrs`): when non-empty, only addresses
 *     in it are allowed;
 *  5. everything else is allowed.
 *
 * IPv4-mapped IPv6 addresses (`::ffff:169.254.169.254`, `::ffff:a9fe:a9fe`) are checked as the IPv4
 * address, NAT64 addresses (64:ff9b::/96) also as the IPv4 address they embed, and the unspecified
 * addresses (0.0.0.0, ::) as the loopback address the kernel connects them to.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, isIPv4, type LookupFunction } from 'node:net';

/** The operator settings (flag and environment variable) of the policy, as messages name them. */
export const EGRESS_SETTINGS = {
  denyCidrs: { flag: '--scaler-egress-deny-cidrs', env: 'KEDA_TS_SCALER_EGRESS_DENY_CIDRS' },
  allowCidrs: { flag: '--scaler-egress-allow-cidrs', env: 'KEDA_TS_SCALER_EGRESS_ALLOW_CIDRS' },
  allowLinkLocal: { flag: '--scaler-egress-allow-link-local', env: 'KEDA_TS_SCALER_EGRESS_ALLOW_LINK_LOCAL' },
} as const;

const setting = (s: { flag: string; env: string }) => `${s.flag} / ${s.env}`;

/** Cloud instance metadata services. Always refused. */
export const METADATA_ADDRESSES: readonly string[] = [
  '169.254.169.254', // AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean, ...
  '169.254.170.2', // AWS ECS task metadata and credentials
  'fd00:ec2::254', // AWS IMDS over IPv6
  'fd20:ce::254', // GCP metadata over IPv6
  '100.100.100.200', // Alibaba Cloud
  '168.63.129.16', // Azure WireServer
  '192.0.0.192', // Oracle Cloud (classic)
];

/** Host names of metadata services, refused before any DNS query (names compared without a trailing dot). */
export const METADATA_HOST_NAMES: readonly string[] = [
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.internal',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.tencentyun.com',
  'metadata.platformequinix.com',
];

const LINK_LOCAL: ReadonlyArray<[string, number, 'ipv4' | 'ipv6']> = [
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
];

export interface EgressPolicyOptions {
  /** CIDRs (or single addresses) never connected to. Wins over `allowCidrs`. */
  denyCidrs?: readonly string[];
  /** When non-empty, only addresses in these CIDRs are connected to. */
  allowCidrs?: readonly string[];
  /** Lift the default refusal of 169.254.0.0/16 and fe80::/10 (metadata addresses stay refused). */
  allowLinkLocal?: boolean;
}

export type EgressDecision = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: EgressDecision = { allowed: true };

/** A setting of the policy is malformed; the message names the setting. */
export class EgressPolicyConfigError extends Error {
  override readonly name = 'EgressPolicyConfigError';
}

/** A connection was refused by the policy. The message names the host, the address and the setting. */
export class EgressDeniedError extends Error {
  override readonly name = 'EgressDeniedError';
  readonly code = 'EGRESS_DENIED';
  constructor(
    readonly host: string,
    readonly address: string | undefined,
    readonly reason: string,
  ) {
    const where = address && address !== host ? `${host} (${address})` : host;
    super(`connection to ${where} refused by the controller's egress policy: ${reason}`);
  }
}

/** A parsed CIDR: the network address, prefix length and family. */
interface Cidr {
  address: string;
  prefix: number;
  type: 'ipv4' | 'ipv6';
}

/** Parses `a.b.c.d/n`, `x::/n` or a single address (a /32 or /128). Throws a plain message. */
export function parseCidr(text: string): Cidr {
  const [addressPart, prefixPart, extra] = text.split('/');
  if (extra !== undefined) throw new Error('more than one "/"');
  const family = isIP(addressPart);
  if (family === 0 || addressPart.includes('%')) throw new Error('not an IPv4 or IPv6 address');
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (prefixPart !== undefined) {
    if (!/^\d{1,3}$/.test(prefixPart) || Number(prefixPart) > max) throw new Error(`prefix length must be 0-${max}`);
    prefix = Number(prefixPart);
  }
  return { address: addressPart, prefix, type: family === 4 ? 'ipv4' : 'ipv6' };
}

/** Comma-separated CIDRs of a setting; an invalid entry is an error naming the setting. */
export function parseCidrList(text: string, settingName: string): string[] {
  const entries = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const entry of entries) {
    try {
      parseCidr(entry);
    } catch (err) {
      throw new EgressPolicyConfigError(`${settingName}: invalid CIDR "${entry}": ${(err as Error).message}`);
    }
  }
  return entries;
}

/** The eight 16-bit groups of an IPv6 address (no zone), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // A dotted IPv4 tail (`::ffff:1.2.3.4`) is two groups.
    if (!isIPv4(last)) return undefined;
    const o = last.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : undefined;
}

const v4FromGroups = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/**
 * The address as the kernel will treat it: IPv4-mapped IPv6 becomes IPv4, the unspecified
 * addresses become loopback. `embedded` is the IPv4 address a NAT64 (64:ff9b::/96) address carries.
 */
export function normalizeAddress(raw: string): { address: string; type: 'ipv4' | 'ipv6'; embedded?: string } | undefined {
  const text = raw.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(text);
  if (family === 4) return { address: text === '0.0.0.0' ? '127.0.0.1' : text, type: 'ipv4' };
  if (family !== 6) return undefined;
  const noZone = text.replace(/%.*$/, '');
  const g = ipv6Groups(noZone);
  if (!g) return { address: noZone, type: 'ipv6' };
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    const v4 = v4FromGroups(g[6], g[7]);
    return { address: v4 === '0.0.0.0' ? '127.0.0.1' : v4, type: 'ipv4' };
  }
  if (g.every((x) => x === 0)) return { address: '::1', type: 'ipv6' };
  const canonical = g.map((x) => x.toString(16)).join(':');
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return { address: canonical, type: 'ipv6', embedded: v4FromGroups(g[6], g[7]) };
  }
  return { address: canonical, type: 'ipv6' };
}

function blockListOf(cidrs: readonly Cidr[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.type);
  return list;
}

/** Host names as compared with METADATA_HOST_NAMES: lower case, without trailing dots or brackets. */
function normalizeHostName(host: string): string {
  return host.trim().toLowerCase().replace(/\.+$/, '');
}

let nextPolicyId = 0;

export class EgressPolicy {
  /** Distinguishes policies in the keys of shared clients (a client is bound to the policy it was built with). */
  readonly id = ++nextPolicyId;
  private readonly deny: BlockList;
  private readonly allow: BlockList;
  private readonly linkLocal: BlockList;
  private readonly metadata: BlockList;
  private readonly metadataNames: ReadonlySet<string>;
  private readonly hasAllowList: boolean;
  readonly options: Readonly<Required<EgressPolicyOptions>>;

  constructor(options: EgressPolicyOptions = {}) {
    const parse = (list: readonly string[] | undefined, name: string) =>
      parseCidrList((list ?? []).join(','), name).map((c) => parseCidr(c));
    const deny = parse(options.denyCidrs, setting(EGRESS_SETTINGS.denyCidrs));
    const allow = parse(options.allowCidrs, setting(EGRESS_SETTINGS.allowCidrs));
    this.options = {
      denyCidrs: [...(options.denyCidrs ?? [])],
      allowCidrs: [...(options.allowCidrs ?? [])],
      allowLinkLocal: options.allowLinkLocal ?? false,
    };
    this.deny = blockListOf(deny);
    this.allow = blockListOf(allow);
    this.hasAllowList = allow.length > 0;
    this.linkLocal = blockListOf(LINK_LOCAL.map(([address, prefix, type]) => ({ address, prefix, type })));
    this.metadata = blockListOf(METADATA_ADDRESSES.map((a) => parseCidr(a)));
    this.metadataNames = new Set(METADATA_HOST_NAMES);
  }

  /** Builds the policy from the comma-separated settings; an invalid CIDR throws naming the setting. */
  static fromSettings(settings: { denyCidrs?: string; allowCidrs?: string; allowLinkLocal?: boolean }): EgressPolicy {
    return new EgressPolicy({
      denyCidrs: parseCidrList(settings.denyCidrs ?? '', setting(EGRESS_SETTINGS.denyCidrs)),
      allowCidrs: parseCidrList(settings.allowCidrs ?? '', setting(EGRESS_SETTINGS.allowCidrs)),
      allowLinkLocal: settings.allowLinkLocal ?? false,
    });
  }

  /** The decision for one IP address (v4 or v6, mapped forms included). Pure: opens no socket. */
  checkAddress(address: string): EgressDecision {
    const n = normalizeAddress(address);
    if (!n) return { allowed: false, reason: `"${address}" is not an IP address` };
    if (n.embedded) {
      const inner = this.checkNormalized(n.embedded, 'ipv4', address);
      if (!inner.allowed) return inner;
    }
    return this.checkNormalized(n.address, n.type, address);
  }

  private checkNormalized(address: string, type: 'ipv4' | 'ipv6', shown: string): EgressDecision {
    if (this.metadata.check(address, type)) {
      return { allowed: false, reason: `${shown} is a cloud metadata address, always refused (no setting lifts this)` };
    }
    if (this.deny.check(address, type)) {
      return { allowed: false, reason: `${shown} is in the deny list (${setting(EGRESS_SETTINGS.denyCidrs)})` };
    }
    if (!this.options.allowLinkLocal && this.linkLocal.check(address, type)) {
      return {
        allowed: false,
        reason: `${shown} is link-local, refused by default (${setting(EGRESS_SETTINGS.allowLinkLocal)} lifts this)`,
      };
    }
    if (this.hasAllowList && !this.allow.check(address, type)) {
      return { allowed: false, reason: `${shown} is not in the allow list (${setting(EGRESS_SETTINGS.allowCidrs)})` };
    }
    return ALLOWED;
  }

  /**
   * The check that can be made before DNS: an IP literal is checked as an address, a metadata
   * host name is refused, any other name is allowed here (its addresses are checked by `lookup`).
   */
  checkHost(host: string): EgressDecision {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    if (isIP(bare)) return this.checkAddress(bare);
    const name = normalizeHostName(bare);
    if (this.metadataNames.has(name)) {
      return { allowed: false, reason: `${name} is a cloud metadata host name, always refused (no setting lifts this)` };
    }
    return ALLOWED;
  }

  /** Throws EgressDeniedError when `checkHost` refuses `host`. */
  assertHost(host: string): void {
    const decision = this.checkHost(host);
    if (!decision.allowed) throw new EgressDeniedError(host, undefined, decision.reason);
  }

  /** The error for `host`, or undefined when the pre-DNS check passes. */
  hostError(host: string): EgressDeniedError | undefined {
    const decision = this.checkHost(host);
    return decision.allowed ? undefined : new EgressDeniedError(host, undefined, decision.reason);
  }

  /**
   * A drop-in `lookup` for net.connect / tls.connect / http agents: dns.lookup, then only the
   * allowed addresses are returned; when none is left the lookup fails with EgressDeniedError, so
   * no socket is opened. Handles `all: true` (Node's happy eyeballs asks for every address).
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const opts: LookupOptions = typeof options === 'object' && options !== null ? options : {};
    const denied = this.hostError(hostname);
    if (denied) {
      process.nextTick(() => callback(denied, opts.all ? [] : '', undefined));
      return;
    }
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, opts.all ? [] : '', undefined);
      const { allowed, firstRefusal } = this.filter(hostname, addresses);
      if (allowed.length === 0) {
        return callback(firstRefusal ?? new EgressDeniedError(hostname, undefined, 'no allowed address'), opts.all ? [] : '', undefined);
      }
      if (opts.all) callback(null, allowed);
      else callback(null, allowed[0].address, allowed[0].family);
    });
  };

  private filter(host: string, addresses: LookupAddress[]): { allowed: LookupAddress[]; firstRefusal?: EgressDeniedError } {
    const allowed: LookupAddress[] = [];
    let firstRefusal: EgressDeniedError | undefined;
    for (const a of addresses) {
      const decision = this.checkAddress(a.address);
      if (decision.allowed) allowed.push(a);
      else firstRefusal ??= new EgressDeniedError(host, a.address, decision.reason);
    }
    if (addresses.length === 0) firstRefusal = new EgressDeniedError(host, undefined, 'the name resolved to no address');
    return { allowed, firstRefusal };
  }

  /**
   * Resolves `host` and returns the allowed addresses (an IP literal is checked as is), for
   * clients without a per-connection hook that are then pointed at these addresses. Rejects with
   * EgressDeniedError when none is allowed.
   */
  async resolve(host: string): Promise<LookupAddress[]> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    this.assertHost(bare);
    const family = isIP(bare);
    if (family) return [{ address: bare, family }];
    const addresses = await new Promise<LookupAddress[]>((resolve, reject) =>
      dnsLookup(bare, { all: true }, (err, result) => (err ? reject(err) : resolve(result))),
    );
    const { allowed, firstRefusal } = this.filter(bare, addresses);
    if (allowed.length === 0) throw firstRefusal ?? new EgressDeniedError(bare, undefined, 'no allowed address');
    return allowed;
  }

  /** For logs at startup. */
  describe(): { denyCidrs: string[]; allowCidrs: string[]; allowLinkLocal: boolean } {
    return { denyCidrs: [...this.options.denyCidrs], allowCidrs: [...this.options.allowCidrs], allowLinkLocal: this.options.allowLinkLocal };
  }
}

/** The policy with the defaults only: for the webhook, the CLI and whoever builds a ScalerContext without one. */
export const defaultEgressPolicy = new EgressPolicy();

/** The policy a scaler built with `ctx` uses. */
export function egressOf(ctx: { egress?: EgressPolicy }): EgressPolicy {
  return ctx.egress ?? defaultEgressPolicy;
}

const REFUSAL_TEXT = /connection to .* refused by the controller's egress policy: .*/;

/**
 * The refusal text of an EgressDeniedError, also when a client library wrapped it (the Azure SDK's
 * RestError keeps the `code`, the kafka client and others keep it as `cause` or in `errors`): for error messages that
 * otherwise show only class names. The text holds our own host, address and setting names.
 */
export function egressRefusalIn(err: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; lastNodeError?: unknown; errors?: unknown };
  if ((err instanceof EgressDeniedError || e.code === 'EGRESS_DENIED') && typeof e.message === 'string') {
    const text = REFUSAL_TEXT.exec(e.message)?.[0];
    if (text) return text.slice(0, 500);
  }
  const nested = [e.cause, e.originalError, e.lastNodeError, ...(Array.isArray(e.errors) ? e.errors.slice(0, 10) : [])];
  for (const inner of nested) {
    const found = egressRefusalIn(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}
