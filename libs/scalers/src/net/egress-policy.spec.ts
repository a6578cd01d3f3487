/** The decision table of the egress policy. Pure: no socket is opened, no name is resolved. */
import { EgressDeniedError, EgressPolicy, EgressPolicyConfigError, normalizeAddress, parseCidrList } from './egress-policy';

const defaults = new EgressPolicy();

describe('default policy (no settings)', () => {
  it.each([
    // link-local IPv4 and IPv6
    ['169.254.0.1', 'is link-local'],
    ['169.254.255.255', 'is link-local'],
    ['fe80::1', 'is link-local'],
    ['fe80::1%eth0', 'is link-local'],
    ['febf:ffff::1', 'is link-local'],
    ['[fe80::a9fe:a9fe]', 'is link-local'],
    // metadata services
    ['169.254.169.254', 'cloud metadata address'],
    ['169.254.170.2', 'cloud metadata address'],
    ['fd00:ec2::254', 'cloud metadata address'],
    ['FD00:EC2:0:0:0:0:0:254', 'cloud metadata address'],
    ['fd20:ce::254', 'cloud metadata address'],
    ['100.100.100.200', 'cloud metadata address'],
    ['168.63.129.16', 'cloud metadata address'],
    // IPv4-mapped and NAT64 forms of them
    ['::ffff:169.254.169.254', 'cloud metadata address'],
    ['::ffff:a9fe:a9fe', 'cloud metadata address'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'cloud metadata address'],
    ['::ffff:169.254.1.1', 'is link-local'],
    ['64:ff9b::169.254.169.254', 'cloud metadata address'],
    ['64:ff9b::a9fe:101', 'is link-local'],
    // not IP addresses at all
    ['metadata.google.internal', 'is not an IP address'],
    ['', 'is not an IP address'],
  ])('refuses %s (%s)', (address, reason) => {
    const decision = defaults.checkAddress(address);
    expect(decision.allowed).toBe(false);
    expect(!decision.allowed && decision.reason).toContain(reason);
  });

  it.each([
    '127.0.0.1',
    '127.0.0.2',
    '::1',
    '0.0.0.0',
    '::',
    '10.0.0.1',
    '192.168.1.10',
    '100.100.100.201',
    '169.253.255.255',
    '169.255.0.0',
    'fec0::1',
    'fd00:ec2::253',
    '2001:db8::1',
    '::ffff:10.1.2.3',
    '64:ff9b::808:808',
  ])('allows %s', (address) => {
    expect(defaults.checkAddress(address)).toEqual({ allowed: true });
  });

  it.each([
    'metadata',
    'metadata.google.internal',
    'METADATA.Google.Internal.',
    'metadata.goog',
    'instance-data',
    'instance-data.ec2.internal',
  ])('refuses the metadata host name %s before DNS', (host) => {
    const decision = defaults.checkHost(host);
    expect(decision.allowed).toBe(false);
    expect(!decision.allowed && decision.reason).toContain('cloud metadata host name, always refused');
  });

  it('checks IP-literal hosts as addresses and lets other names through to lookup', () => {
    expect(defaults.checkHost('[::ffff:169.254.169.254]').allowed).toBe(false);
    expect(defaults.checkHost('169.254.169.254').allowed).toBe(false);
    expect(defaults.checkHost('prometheus.monitoring.svc')).toEqual({ allowed: true });
    expect(defaults.checkHost('metadata.example.com')).toEqual({ allowed: true });
  });
});

describe('operator settings', () => {
  it('deny list refuses, naming the setting', () => {
    const p = EgressPolicy.fromSettings({ denyCidrs: '127.0.0.2/32, 10.0.0.0/8,2001:db8::/32' });
    expect(p.checkAddress('127.0.0.2')).toEqual({
      allowed: false,
      reason: '127.0.0.2 is in the deny list (--scaler-egress-deny-cidrs / KEDA_TS_SCALER_EGRESS_DENY_CIDRS)',
    });
    expect(p.checkAddress('::ffff:127.0.0.2').allowed).toBe(false);
    expect(p.checkAddress('10.200.0.1').allowed).toBe(false);
    expect(p.checkAddress('2001:db8:1::5').allowed).toBe(false);
    expect(p.checkAddress('127.0.0.1').allowed).toBe(true);
  });

  it('a single address in the deny list is a /32 or /128', () => {
    const p = EgressPolicy.fromSettings({ denyCidrs: '127.0.0.3,::1' });
    expect(p.checkAddress('127.0.0.3').allowed).toBe(false);
    expect(p.checkAddress('127.0.0.4').allowed).toBe(true);
    expect(p.checkAddress('::1').allowed).toBe(false);
    // the kernel connects :: to ::1
    expect(p.checkAddress('::').allowed).toBe(false);
  });

  it('a non-empty allow list allows only its ranges; deny wins over allow', () => {
    const p = EgressPolicy.fromSettings({ allowCidrs: '10.0.0.0/8,127.0.0.0/8', denyCidrs: '10.1.0.0/16' });
    expect(p.checkAddress('10.2.3.4')).toEqual({ allowed: true });
    expect(p.checkAddress('127.0.0.1')).toEqual({ allowed: true });
    expect(p.checkAddress('10.1.2.3')).toEqual({
      allowed: false,
      reason: '10.1.2.3 is in the deny list (--scaler-egress-deny-cidrs / KEDA_TS_SCALER_EGRESS_DENY_CIDRS)',
    });
    expect(p.checkAddress('192.168.0.1')).toEqual({
      allowed: false,
      reason: '192.168.0.1 is not in the allow list (--scaler-egress-allow-cidrs / KEDA_TS_SCALER_EGRESS_ALLOW_CIDRS)',
    });
  });

  it('the allow list does not lift the link-local default; --scaler-egress-allow-link-local does, but not for metadata', () => {
    const allowListed = EgressPolicy.fromSettings({ allowCidrs: '169.254.0.0/16' });
    expect(allowListed.checkAddress('169.254.20.10').allowed).toBe(false);
    const lifted = EgressPolicy.fromSettings({ allowLinkLocal: true });
    expect(lifted.checkAddress('169.254.20.10')).toEqual({ allowed: true });
    expect(lifted.checkAddress('fe80::1')).toEqual({ allowed: true });
    expect(lifted.checkAddress('169.254.169.254').allowed).toBe(false);
    expect(lifted.checkAddress('::ffff:169.254.169.254').allowed).toBe(false);
    expect(lifted.checkHost('metadata.google.internal').allowed).toBe(false);
  });

  it('the link-local refusal names the setting that lifts it', () => {
    expect(defaults.checkAddress('169.254.1.1')).toEqual({
      allowed: false,
      reason: '169.254.1.1 is link-local, refused by default (--scaler-egress-allow-link-local / KEDA_TS_SCALER_EGRESS_ALLOW_LINK_LOCAL lifts this)',
    });
  });

  it.each([
    ['10.0.0.0/33', 'prefix length must be 0-32'],
    ['10.0.0/8', 'not an IPv4 or IPv6 address'],
    ['fe80::/129', 'prefix length must be 0-128'],
    ['10.0.0.0/8/9', 'more than one "/"'],
    ['example.com/24', 'not an IPv4 or IPv6 address'],
    ['10.0.0.0/-1', 'prefix length must be 0-32'],
  ])('an invalid CIDR %s is an error naming the setting', (cidr, why) => {
    expect(() => EgressPolicy.fromSettings({ denyCidrs: `127.0.0.2/32,${cidr}` })).toThrow(
      new EgressPolicyConfigError(`--scaler-egress-deny-cidrs / KEDA_TS_SCALER_EGRESS_DENY_CIDRS: invalid CIDR "${cidr}": ${why}`),
    );
    expect(() => parseCidrList(cidr, '--scaler-egress-allow-cidrs')).toThrow(`--scaler-egress-allow-cidrs: invalid CIDR "${cidr}"`);
  });

  it('empty settings and stray commas are no entries', () => {
    expect(parseCidrList(' , ,', 'x')).toEqual([]);
    expect(EgressPolicy.fromSettings({ denyCidrs: '', allowCidrs: ' ' }).describe()).toEqual({ denyCidrs: [], allowCidrs: [], allowLinkLocal: false });
  });
});

describe('normalizeAddress', () => {
  it.each([
    ['::ffff:1.2.3.4', '1.2.3.4', 'ipv4'],
    ['::FFFF:0102:0304', '1.2.3.4', 'ipv4'],
    ['::ffff:0.0.0.0', '127.0.0.1', 'ipv4'],
    ['0.0.0.0', '127.0.0.1', 'ipv4'],
    ['::', '::1', 'ipv6'],
    ['fe80::1%lo', 'fe80:0:0:0:0:0:0:1', 'ipv6'],
    ['[2001:db8::1]', '2001:db8:0:0:0:0:0:1', 'ipv6'],
  ])('%s -> %s', (raw, address, type) => {
    expect(normalizeAddress(raw)).toMatchObject({ address, type });
  });

  it('NAT64 addresses carry the embedded IPv4 address', () => {
    expect(normalizeAddress('64:ff9b::a9fe:a9fe')?.embedded).toBe('169.254.169.254');
  });
});

describe('EgressDeniedError', () => {
  it('names the host, the address and the reason', () => {
    const err = new EgressDeniedError('db.example', '127.0.0.2', '127.0.0.2 is in the deny list (--scaler-egress-deny-cidrs / KEDA_TS_SCALER_EGRESS_DENY_CIDRS)');
    expect(err.message).toBe(
      "connection to db.example (127.0.0.2) refused by the controller's egress policy: 127.0.0.2 is in the deny list (--scaler-egress-deny-cidrs / KEDA_TS_SCALER_EGRESS_DENY_CIDRS)",
    );
    expect(err.code).toBe('EGRESS_DENIED');
    expect(defaults.hostError('169.254.169.254')?.message).toBe(
      "connection to 169.254.169.254 refused by the controller's egress policy: 169.254.169.254 is a cloud metadata address, always refused (no setting lifts this)",
    );
  });
});
