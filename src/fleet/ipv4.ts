import { UsageError } from '../errors.js';

/**
 * IPv4 addresses as the netboot configuration needs them: this host's address on the lab
 * network with its prefix length (`10.0.0.1/24`), the subnet it implies, and an address range
 * inside that subnet. Addresses are unsigned 32-bit numbers internally.
 */
export interface Subnet {
  /** This host's address, dotted. */
  address: string;
  prefixLength: number;
  /** The subnet's network address and netmask, dotted (what dnsmasq's dhcp-range takes). */
  network: string;
  netmask: string;
  broadcast: string;
}

export interface AddressRange {
  start: string;
  end: string;
}

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The number of a dotted-quad address, or null when the text is not one (no leading zeros: 010 is ambiguous). */
export function ipv4Number(text: string): number | null {
  const m = DOTTED.exec(text);
  if (!m) return null;
  const octets = m.slice(1).map((o) => (o.length > 1 && o.startsWith('0') ? NaN : Number(o)));
  if (octets.some((o) => !(o >= 0 && o <= 255))) return null;
  return octets.reduce((n, o) => n * 256 + o, 0);
}

export function ipv4Text(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** 0/8, 127/8 (loopback), 224/4 and above (multicast, reserved): never a lab host's address. */
function unusable(n: number): string | null {
  const first = n >>> 24;
  if (first === 0) return 'in 0.0.0.0/8 ("this network")';
  if (first === 127) return 'a loopback address';
  if (first >= 224) return 'a multicast or reserved address';
  return null;
}

/**
 * `ADDRESS/PREFIX`: this host's address on the interface and the subnet's prefix length, 8 to
 * 30 (a /31 or /32 has no room for clients). The address must be a host of that subnet (not its
 * network or broadcast address).
 */
export function parseSubnet(flag: string, text: string): Subnet {
  const hint = `give this host's address on the lab network and its prefix length, e.g. ${flag} 192.168.50.1/24`;
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} "${text}" is not ADDRESS/PREFIX`, hint);
  const n = ipv4Number(m[1]!);
  if (n === null) throw new UsageError(`${flag} "${text}": "${m[1]}" is not an IPv4 address`, hint);
  const prefixLength = Number(m[2]);
  if (prefixLength < 8 || prefixLength > 30) throw new UsageError(`${flag} "${text}": the prefix length must be 8 to 30, not ${prefixLength}`, hint);
  const why = unusable(n);
  if (why) throw new UsageError(`${flag} "${text}": ${m[1]} is ${why}`, hint);
  const network = (n & mask(prefixLength)) >>> 0;
  const broadcast = (network | ~mask(prefixLength)) >>> 0;
  if (n === network || n === broadcast) {
    throw new UsageError(`${flag} "${text}": ${m[1]} is the ${n === network ? 'network' : 'broadcast'} address of ${ipv4Text(network)}/${prefixLength}, not a host`, hint);
  }
  return { address: ipv4Text(n), prefixLength, network: ipv4Text(network), netmask: ipv4Text(mask(prefixLength)), broadcast: ipv4Text(broadcast) };
}

/**
 * `START-END` (or `START,END`): addresses to hand out, inside `subnet`, in order, without its
 * network and broadcast addresses and without this host's own address.
 */
export function parseRange(flag: string, text: string, subnet: Subnet): AddressRange {
  const hint = `give the first and last address to hand out inside ${subnet.network}/${subnet.prefixLength}, e.g. ${flag} ${rangeExample(subnet)}`;
  const parts = text.trim().split(/\s*[-,]\s*/);
  if (parts.length !== 2) throw new UsageError(`${flag} "${text}" is not START-END`, hint);
  const [start, end] = parts.map((p) => ipv4Number(p)) as [number | null, number | null];
  if (start === null || end === null) throw new UsageError(`${flag} "${text}": "${start === null ? parts[0] : parts[1]}" is not an IPv4 address`, hint);
  if (start > end) throw new UsageError(`${flag} "${text}": the range ends before it starts`, hint);
  const network = ipv4Number(subnet.network)!;
  const broadcast = ipv4Number(subnet.broadcast)!;
  if (start <= network || end >= broadcast) {
    throw new UsageError(`${flag} "${text}" is not inside the hosts of ${subnet.network}/${subnet.prefixLength} (${ipv4Text(network + 1)} to ${ipv4Text(broadcast - 1)})`, hint);
  }
  const own = ipv4Number(subnet.address)!;
  if (own >= start && own <= end) throw new UsageError(`${flag} "${text}" contains this host's own address ${subnet.address}`, hint);
  return { start: ipv4Text(start), end: ipv4Text(end) };
}

/** A plausible range for hints: the upper part of the subnet, away from this host's address. */
function rangeExample(subnet: Subnet): string {
  const network = ipv4Number(subnet.network)!;
  const hosts = ipv4Number(subnet.broadcast)! - network - 1;
  const start = network + Math.max(2, Math.floor(hosts / 2));
  const end = network + hosts;
  const own = ipv4Number(subnet.address)!;
  return own >= start && own <= end ? `${ipv4Text(network + 1)}-${ipv4Text(start - 1)}` : `${ipv4Text(start)}-${ipv4Text(end)}`;
}
