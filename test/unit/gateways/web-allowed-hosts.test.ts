/**
 * The web_fetch allowlist: exact hosts, `*.` entries for subdomains only, ports, and the
 * URLs never fetched whatever the list says (other schemes, credentials in the URL).
 */
import { describe, expect, it } from 'vitest';
import { checkUrl, describeAllowHosts } from '../../../runtime/gateways/web/allowed-hosts.js';
import { configSchema } from '../../../runtime/config.js';

const allowed = (url: string, allowHosts: readonly string[]) => checkUrl(url, allowHosts).allowed;
const reasonFor = (url: string, allowHosts: readonly string[]) => {
  const check = checkUrl(url, allowHosts);
  if (check.allowed) throw new Error(`${url} was allowed`);
  return check.reason;
};

describe('web_fetch allowlist', () => {
  it('lets *.example.com match a.example.com and deeper subdomains, but not example.com or evilexample.com', () => {
    const list = ['*.example.com'];
    expect(allowed('https://a.example.com/page', list)).toBe(true);
    expect(allowed('https://b.a.example.com/', list)).toBe(true);
    expect(allowed('https://example.com/', list)).toBe(false);
    expect(allowed('https://evilexample.com/', list)).toBe(false);
    expect(allowed('https://a.example.com.evil.net/', list)).toBe(false);
  });

  it('matches an exact entry only exactly: not its subdomains, not a longer name', () => {
    const list = ['docs.example.com'];
    expect(allowed('https://docs.example.com/a?b=c', list)).toBe(true);
    expect(allowed('http://docs.example.com/', list)).toBe(true);
    expect(allowed('https://x.docs.example.com/', list)).toBe(false);
    expect(allowed('https://docs.example.com.evil.net/', list)).toBe(false);
    expect(allowed('https://example.com/', list)).toBe(false);
  });

  it('compares the host as the URL parser normalises it (case, default port)', () => {
    expect(allowed('https://DOCS.Example.COM:443/', ['docs.example.com'])).toBe(true);
    expect(allowed('http://docs.example.com:80/', ['docs.example.com'])).toBe(true);
  });

  it('allows an entry without a port on the default port only, and one with a port on that port only', () => {
    expect(reasonFor('https://docs.example.com:8443/', ['docs.example.com'])).toBe(
      'docs.example.com:8443 is not on webFetch.allowHosts (allowed: docs.example.com)',
    );
    expect(allowed('http://127.0.0.1:8080/', ['127.0.0.1:8080'])).toBe(true);
    expect(allowed('http://127.0.0.1:8081/', ['127.0.0.1:8080'])).toBe(false);
    expect(allowed('http://127.0.0.1/', ['127.0.0.1:8080'])).toBe(false);
    expect(allowed('https://docs.example.com/', ['docs.example.com:443'])).toBe(true);
    expect(allowed('http://docs.example.com/', ['docs.example.com:443'])).toBe(false);
    expect(allowed('https://a.example.com:8443/', ['*.example.com:8443'])).toBe(true);
  });

  it('refuses every URL, saying an operator must add hosts, when the list is empty', () => {
    expect(reasonFor('https://docs.example.com/', [])).toMatch(/an operator must add hosts to webFetch\.allowHosts/);
  });

  it('refuses a URL with a user name or password in it, even on an allowed host', () => {
    expect(reasonFor('https://user:secret@docs.example.com/', ['docs.example.com'])).toMatch(/user name or password/);
    expect(reasonFor('https://user@docs.example.com/', ['docs.example.com'])).toMatch(/user name or password/);
  });

  it('refuses schemes other than http and https, and what is not an absolute URL', () => {
    for (const url of ['file:///etc/passwd', 'ftp://docs.example.com/x', 'javascript:alert(1)', 'data:text/html,hi']) {
      expect(reasonFor(url, ['docs.example.com']), url).toMatch(/URLs are not fetched; only http: and https: are/);
    }
    expect(reasonFor('/relative/path', ['docs.example.com'])).toMatch(/not an absolute URL/);
  });

  it('lists at most twenty entries in a refusal, then how many more', () => {
    const many = Array.from({ length: 25 }, (_, index) => `h${index}.example.com`);
    expect(describeAllowHosts(many)).toMatch(/^h0\.example\.com, .*h19\.example\.com and 5 more$/);
  });

  it('keeps the list short enough for a tool description (at most 4,000 characters) however long the host names', () => {
    const longName = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.example.com:65535`;
    const many = Array.from({ length: 500 }, (_, index) => `${index}${longName}`);
    const described = describeAllowHosts(many);
    expect(described.length).toBeLessThan(1_500);
    expect(described).toMatch(/ and \d+ more$/);
  });

  it('takes from the config only lower-case host names, *. entries and ports, so every entry parses here', () => {
    const parse = (allowHosts: unknown) => configSchema.safeParse({ webFetch: { allowHosts } }).success;
    expect(parse(['docs.example.com', '*.example.com', '127.0.0.1:8080'])).toBe(true);
    for (const bad of ['Docs.example.com', 'https://docs.example.com', '*example.com', 'docs.example.com/path', 'a.*.example.com']) {
      expect(parse([bad]), bad).toBe(false);
    }
  });

  it('says when the entry that matched is the address itself, which the address check then trusts, and not for a name or a *. entry', () => {
    const namedByAddress = (url: string, allowHosts: readonly string[]) => {
      const check = checkUrl(url, allowHosts);
      if (!check.allowed) throw new Error(check.reason);
      return check.namedByAddress;
    };
    expect(namedByAddress('http://127.0.0.1:8080/', ['127.0.0.1:8080'])).toBe(true);
    expect(namedByAddress('http://10.0.0.5/', ['10.0.0.5'])).toBe(true);
    expect(namedByAddress('http://localhost:8080/', ['localhost:8080'])).toBe(false);
    expect(namedByAddress('https://a.example.com/', ['*.example.com'])).toBe(false);
    // A `*.` entry whose tail looks like an address is still a pattern, not the operator naming 127.0.0.1.
    expect(namedByAddress('http://127.0.0.1/', ['*.0.0.1'])).toBe(false);
  });
});
