/**
 * Resolves a URL's host once, checks every address it resolved to, and hands the connection
 * exactly those addresses: the name is never looked up a second time, so a DNS answer that
 * changes between the check and the connect (rebinding) cannot move the fetch.
 *
 * An address that leads into the host's own network (address-check.ts) is refused unless the
 * operator asked for it: the allowlist entry that matched is the address itself
 * (`127.0.0.1:8080`, `10.0.0.5`), or `webFetch.allowPrivateAddresses` is true.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { describeClass, nonPublicClass } from './address-check.js';

export const ALLOW_PRIVATE_KEY = 'webFetch.allowPrivateAddresses';

export interface ResolvedAddress {
  readonly address: string;
  /** 4 or 6. */
  readonly family: number;
}

/** Every address a host name resolves to, in the order a connection should try them. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system's resolver, as Node's own connections use it (getaddrinfo: /etc/hosts, then DNS). */
export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true });

export type Pinned = { readonly ok: true; readonly addresses: readonly ResolvedAddress[] } | { readonly ok: false; readonly reason: string };

export interface PinOptions {
  readonly resolve: Resolver;
  /** The allowlist entry that matched names this very address: the operator means it. */
  readonly namedByAddress: boolean;
  readonly allowPrivateAddresses: boolean;
}

/**
 * The addresses `url`'s host may be fetched from, or why none may. Every resolved address is
 * checked, not only the first: a connection may fall back to any of them.
 */
export async function resolvePinned(url: URL, options: PinOptions): Promise<Pinned> {
  const hostname = bareHost(url);
  const literal = isIP(hostname);
  const addresses = literal !== 0 ? [{ address: hostname, family: literal }] : await options.resolve(hostname);
  if (addresses.length === 0) return { ok: false, reason: `${url.hostname} resolved to no address` };
  if (options.namedByAddress || options.allowPrivateAddresses) return { ok: true, addresses };
  for (const { address } of addresses) {
    const addressClass = nonPublicClass(address);
    if (addressClass === null) continue;
    const resolvedTo = literal !== 0 ? `${url.hostname} is` : `${url.hostname} resolves to ${address}, which is`;
    return {
      ok: false,
      reason:
        `${resolvedTo} ${describeClass(addressClass)}, inside the host's own network; web_fetch goes there only when ` +
        `webFetch.allowHosts lists the address itself or an operator sets ${ALLOW_PRIVATE_KEY}`,
    };
  }
  return { ok: true, addresses };
}

/**
 * A `lookup` for node:net that answers with the checked addresses whatever it is asked, so
 * the connection goes where the check looked. Node asks with `all: true` when it may try
 * several addresses (autoSelectFamily), for one address otherwise.
 */
export function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all === true) callback(null, addresses.map(({ address, family }) => ({ address, family })));
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
}

/** The host as an address or name, without the brackets the URL puts around IPv6. */
function bareHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}
