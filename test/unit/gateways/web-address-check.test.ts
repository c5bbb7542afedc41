/**
 * The addresses web_fetch keeps away from unless an operator asks: each non-public range at
 * its edges, in IPv6 and in the IPv4-mapped IPv6 spelling, and public addresses let through.
 */
import { describe, expect, it } from 'vitest';
import { describeClass, nonPublicClass } from '../../../runtime/gateways/web/address-check.js';

describe('web_fetch address classes', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.255.255.255', 'unspecified'],
    ['::', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.0', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['192.168.255.255', 'private'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
  ])('classes %s as %s', (address, addressClass) => {
    expect(nonPublicClass(address)).toBe(addressClass);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:100.64.0.1', 'carrier-grade NAT'],
    ['::FFFF:192.168.1.1', 'private'],
  ])('sees through the IPv4-mapped IPv6 spelling %s to a %s address', (address, addressClass) => {
    expect(nonPublicClass(address)).toBe(addressClass);
  });

  it.each(['1.1.1.1', '8.8.8.8', '93.184.215.14', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '169.253.255.255', '11.0.0.0', '126.255.255.255', '2606:4700:4700::1111', '::ffff:8.8.8.8', 'fec0::1', '2001:db8::1'])(
    'lets the public address %s through, right up to the edges of the ranges',
    (address) => {
      expect(nonPublicClass(address)).toBeNull();
    },
  );

  it('names a class as a refusal words it', () => {
    expect(describeClass('loopback')).toBe('a loopback address');
    expect(describeClass('unspecified')).toBe('an unspecified address');
    expect(describeClass('unique-local')).toBe('a unique-local address');
  });

  it('throws on something that is not an address, since a resolver or a URL only ever hands it one', () => {
    expect(() => nonPublicClass('localhost')).toThrow("'localhost' is not an IP address");
  });
});
