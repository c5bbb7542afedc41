/**
 * Which addresses web_fetch keeps away from by default: the ones that lead into the host's
 * own machine or network rather than to the public web. A name on the allowlist can resolve
 * to one of them (a subdomain whose DNS someone else controls, DNS rebinding), and a fetch
 * there would be a request forged into the company's network (SSRF).
 *
 * Pure: it classifies an address string and does no I/O. node:net's BlockList does the range
 * arithmetic, and it matches an IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) against the
 * IPv4 ranges, so the mapped spelling of a private address is that address.
 */
import { BlockList, isIP } from 'node:net';

/** A kind of non-public address, worded as a refusal names it ("a loopback address"). */
export type AddressClass = 'unspecified' | 'loopback' | 'private' | 'link-local' | 'carrier-grade NAT' | 'unique-local' | 'multicast';

const RANGES: readonly (readonly [AddressClass, readonly (readonly [string, number, 'ipv4' | 'ipv6'])[]])[] = [
  // 0.0.0.0/8 is "this network": a connection to 0.0.0.0 reaches the host itself on Linux.
  ['unspecified', [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]],
  ['loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  ['private', [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4']]],
  // 169.254.169.254 is where cloud providers serve instance metadata and credentials.
  ['link-local', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
  ['carrier-grade NAT', [['100.64.0.0', 10, 'ipv4']]],
  ['unique-local', [['fc00::', 7, 'ipv6']]],
  ['multicast', [['224.0.0.0', 4, 'ipv4'], ['ff00::', 8, 'ipv6']]],
];

const BLOCKS: readonly (readonly [AddressClass, BlockList])[] = RANGES.map(([addressClass, subnets]) => {
  const block = new BlockList();
  for (const [network, prefix, family] of subnets) block.addSubnet(network, prefix, family);
  return [addressClass, block] as const;
});

/**
 * The class of a non-public address, or null for a public one. Throws on a string that is
 * not an IP address: the caller has one from a resolver or a URL, and anything else is a bug.
 */
export function nonPublicClass(address: string): AddressClass | null {
  const family = isIP(address);
  if (family === 0) throw new TypeError(`'${address}' is not an IP address`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [addressClass, block] of BLOCKS) if (block.check(address, type)) return addressClass;
  return null;
}

/** "a loopback address", "an unspecified address": how a refusal names the class. */
export function describeClass(addressClass: AddressClass): string {
  // "unique" starts with a consonant sound: the article is written out, not guessed from the letter.
  return `${addressClass === 'unspecified' ? 'an' : 'a'} ${addressClass} address`;
}
