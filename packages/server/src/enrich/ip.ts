import { isIP } from 'node:net';

/**
 * An IP address made anonymous the way web analytics tools do it: IPv4 keeps its first three
 * octets (the last is zeroed), IPv6 keeps its first 48 bits. Returns null for anything that is
 * not an IP address.
 *
 * @example
 * truncateIp('203.0.113.77') // '203.0.113.0'
 * truncateIp('2001:db8:85a3:8d3:1319:8a2e:370:7348') // '2001:db8:85a3::'
 */
export function truncateIp(ip: string): string | null {
  const address = normalizeIp(ip);
  if (!address) return null;
  if (isIP(address) === 4) return address.replace(/\.\d+$/, '.0');
  const groups = expandIpv6(address).slice(0, 3).map((g) => g.replace(/^0+(?=.)/, ''));
  return `${groups.join(':')}::`;
}

/** An IP as stored: IPv4-mapped IPv6 becomes IPv4, zones are dropped; null when invalid. */
export function normalizeIp(ip: string): string | null {
  let address = ip.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1];
  return isIP(address) ? address.toLowerCase() : null;
}

function expandIpv6(address: string): string[] {
  const [head, tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  // An embedded IPv4 tail (::1.2.3.4) counts as two groups; only the first three groups matter here.
  const missing = 8 - left.length - right.length;
  return [...left, ...Array(Math.max(0, tail !== undefined ? missing : 0)).fill('0'), ...right];
}
