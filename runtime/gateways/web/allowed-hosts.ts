/**
 * Which URLs web_fetch may reach: the operator's allowlist (`webFetch.allowHosts`), checked
 * for the first URL and again for every redirect.
 *
 * An entry is a lower-case host name (`docs.example.com`, an IPv4 address such as
 * `127.0.0.1` too), or `*.example.com` for example.com's subdomains (not example.com itself,
 * not `evilexample.com`), with an optional `:port`. Without a port an entry allows the
 * scheme's default port only (80 for http, 443 for https), so `docs.example.com` does not
 * open `docs.example.com:8080`. The config schema has checked each entry's shape.
 *
 * An allowed name still has to resolve to a public address (resolve-pinned.ts); `namedByAddress`
 * says the entry that matched is an IP address itself, which the operator meant to reach.
 *
 * The URL is compared as the WHATWG parser normalises it (host lower-cased, an IDN in
 * punycode, `0x7f.1` read as `127.0.0.1`), so one host spelled two ways is one host.
 */

import { isIP } from 'node:net';

/** The config key the refusals name, so an operator knows where to look. */
export const ALLOW_HOSTS_KEY = 'webFetch.allowHosts';

/**
 * How much of the allowlist a description or refusal lists before it says how many more
 * there are: a tool's description may be at most 4,000 characters (container/protocol).
 */
const LISTED_ENTRIES = 20;
const LISTED_CHARS = 1_000;

export type UrlCheck = { readonly allowed: true; readonly url: URL; readonly namedByAddress: boolean } | { readonly allowed: false; readonly reason: string };

interface HostRule {
  /** `docs.example.com`, or `.example.com` for a `*.example.com` entry. */
  readonly host: string;
  readonly subdomainsOnly: boolean;
  /** The port the entry names, or null: the scheme's default only. */
  readonly port: string | null;
}

/**
 * May a fetch go to `target`? Only http: and https:, no user name or password in the URL
 * (a fetch never sends credentials), and a host and port an entry allows. The reason is
 * worded for the model and names what was wrong.
 */
export function checkUrl(target: string | URL, allowHosts: readonly string[]): UrlCheck {
  let url: URL;
  try {
    url = typeof target === 'string' ? new URL(target) : target;
  } catch {
    return { allowed: false, reason: `'${target}' is not an absolute URL (expected one such as https://docs.example.com/page)` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { allowed: false, reason: `${url.protocol} URLs are not fetched; only http: and https: are` };
  }
  if (url.username !== '' || url.password !== '') {
    return { allowed: false, reason: 'a URL with a user name or password in it is not fetched; web_fetch never sends credentials' };
  }
  if (allowHosts.length === 0) {
    return { allowed: false, reason: `no host is allowed: ${ALLOW_HOSTS_KEY} is empty, and an operator must add hosts to ${ALLOW_HOSTS_KEY} in the config file before anything can be fetched` };
  }
  const matched = allowHosts.map(parseEntry).filter((rule) => matches(url, rule));
  if (matched.length === 0) {
    return { allowed: false, reason: `${url.host} is not on ${ALLOW_HOSTS_KEY} (allowed: ${describeAllowHosts(allowHosts)})` };
  }
  return { allowed: true, url, namedByAddress: matched.some((rule) => !rule.subdomainsOnly && isIP(rule.host) !== 0) };
}

/** The allowlist as the model and the approvers read it: its first entries, then how many more. */
export function describeAllowHosts(allowHosts: readonly string[]): string {
  if (allowHosts.length === 0) return 'none';
  const listed: string[] = [];
  let chars = 0;
  for (const entry of allowHosts.slice(0, LISTED_ENTRIES)) {
    chars += entry.length + 2;
    if (listed.length > 0 && chars > LISTED_CHARS) break;
    listed.push(entry);
  }
  const unlisted = allowHosts.length - listed.length;
  return unlisted > 0 ? `${listed.join(', ')} and ${unlisted} more` : listed.join(', ');
}

function parseEntry(entry: string): HostRule {
  const colon = entry.lastIndexOf(':');
  const [hostPart, port] = colon === -1 ? [entry, null] : [entry.slice(0, colon), String(Number(entry.slice(colon + 1)))];
  return hostPart.startsWith('*.') ? { host: hostPart.slice(1), subdomainsOnly: true, port } : { host: hostPart, subdomainsOnly: false, port };
}

function matches(url: URL, rule: HostRule): boolean {
  const hostMatches = rule.subdomainsOnly ? url.hostname.endsWith(rule.host) && url.hostname.length > rule.host.length : url.hostname === rule.host;
  // url.port is '' exactly when the URL uses its scheme's default port (the parser drops `:443` from https).
  const portMatches = rule.port === null ? url.port === '' : effectivePort(url) === rule.port;
  return hostMatches && portMatches;
}

function effectivePort(url: URL): string {
  if (url.port !== '') return url.port;
  return url.protocol === 'https:' ? '443' : '80';
}
