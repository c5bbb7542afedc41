/**
 * web_fetch against real HTTP servers on 127.0.0.1, through the tool gateway as a run calls
 * it: `allowed` is on the allowlist (`127.0.0.1:<its port>`), `outside` is the same address
 * on another port and is not, so every refusal below is a refusal by host and port. What
 * `outside` was asked is recorded: a refused redirect must not reach it at all.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TOOL_OUTPUT_CHARS, toolDefinitionSchema } from '../../../container/protocol/messages.js';
import type { EventStore } from '../../../events/port.js';
import type { ActorHost } from '../../../runtime/actor-host/actor-host.js';
import type { HostToolSettings, OutboundChannel } from '../../../runtime/gateways/host-tools/host-tool.js';
import { webFetchTool } from '../../../runtime/gateways/host-tools/web-fetch.js';
import { permissionsAllowing } from './gateway-world.js';
import { ToolGateway, type HostToolOutcome } from '../../../runtime/gateways/tool-gateway.js';
import { fetchPage, USER_AGENT } from '../../../runtime/gateways/web/fetch-page.js';
import type { ResolvedAddress, Resolver } from '../../../runtime/gateways/web/resolve-pinned.js';
import { nextCallId, runContext } from './gateway-world.js';

const MAX_BYTES = 4 * 1024;
const TIMEOUT_MS = 800;
const MAX_REDIRECTS = 3;

const PAGE_HTML = `<html><head><title>Acme payment terms</title><script>var tracking = "hidden"</script></head>
<body><h1>Terms</h1><p>Acme pays net 30. See <a href="/faq">the FAQ</a>.</p></body></html>`;

interface Listener {
  readonly server: Server;
  readonly origin: string;
  /** Each request's path and headers, in order. */
  readonly requests: { path: string; headers: IncomingHttpHeaders }[];
}


/** web_fetch posts nothing. */
const UNUSED_CHANNEL: OutboundChannel = { post: async () => ({ ref: 'unused' }), postToChannel: async () => ({ posted: false, reason: 'unused' }) };
let allowed: Listener;
let outside: Listener;
let dataDir: string;
let gateway: ToolGateway;
const group = runContext({ groupId: 'T1.C1', userId: 'U1' });

async function listen(route: (request: IncomingMessage, response: ServerResponse) => void): Promise<Listener> {
  const requests: Listener['requests'] = [];
  const server = createServer((request, response) => {
    requests.push({ path: request.url ?? '', headers: request.headers });
    route(request, response);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function allowedRoutes(request: IncomingMessage, response: ServerResponse): void {
  const path = request.url ?? '/';
  const redirect = (location: string) => response.writeHead(302, { location }).end();
  const loop = /^\/loop\/(\d+)$/.exec(path);
  if (path === '/page') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': 'session=abc; Path=/' }).end(PAGE_HTML);
  else if (path === '/moved') redirect('/hop');
  else if (path === '/hop') redirect(`${allowed.origin}/page`);
  else if (path === '/away') redirect(`${outside.origin}/collect?data=1`);
  else if (path === '/to-localhost') redirect(`http://localhost:${(allowed.server.address() as AddressInfo).port}/page`);
  else if (path === '/to-userinfo') redirect(`http://user:secret@127.0.0.1:${(allowed.server.address() as AddressInfo).port}/page`);
  else if (path === '/to-file') redirect('file:///etc/passwd');
  else if (path === '/nowhere') response.writeHead(302).end();
  else if (loop) redirect(`/loop/${Number(loop[1]) + 1}`);
  else if (path === '/big') {
    response.writeHead(200, { 'content-type': 'text/plain' });
    for (let chunk = 0; chunk < 64; chunk += 1) response.write('x'.repeat(1023) + '\n');
    response.end('END OF BIG PAGE');
  } else if (path === '/huge') {
    response.writeHead(200, { 'content-type': 'text/plain' }).end('y'.repeat(MAX_TOOL_OUTPUT_CHARS + 50_000));
  } else if (path === '/bomb') {
    // 10 MB of text in a few kilobytes on the wire: the cap counts what it decompresses to.
    response.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(10 * 1024 * 1024, 'a')));
  } else if (path === '/slow-headers') setTimeout(() => response.writeHead(200, { 'content-type': 'text/plain' }).end('late'), 5_000).unref();
  else if (path === '/slow-body') {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write('first part\n');
    setTimeout(() => response.end('the rest'), 5_000).unref();
  } else if (path === '/slow-hops') setTimeout(() => redirect('/slow-hops-2'), TIMEOUT_MS * 0.6).unref();
  else if (path === '/slow-hops-2') setTimeout(() => redirect('/page'), TIMEOUT_MS * 0.6).unref();
  else if (path === '/binary') response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([0, 1, 2, 255]));
  else if (path === '/untyped') response.writeHead(200).end('what is this');
  else if (path === '/latin1') response.writeHead(200, { 'content-type': 'text/plain; charset=iso-8859-1' }).end(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  else if (path === '/br') response.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'br' }).end(brotliCompressSync('brotli terms'));
  else if (path === '/deflate') response.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'deflate' }).end(deflateSync('deflated terms'));
  else if (path === '/zstd') response.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'zstd' }).end('not really zstd');
  else if (path === '/json') response.writeHead(200, { 'content-type': 'application/json' }).end('{"terms":"net 30"}');
  else if (path === '/echo-headers') response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(request.headers));
  else response.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
}

const settings = (): HostToolSettings => ({
  actions: { http: [] },
  webFetch: { allowHosts: [allowed.origin.replace('http://', '')], allowPrivateAddresses: false, maxBytes: MAX_BYTES, timeoutMs: TIMEOUT_MS, maxRedirects: MAX_REDIRECTS },
});

/** web_fetch needs neither actors nor the event store; touching either is a failure. */
const untouchable = <T extends object>(what: string): T =>
  new Proxy({} as T, {
    get: (_target, key) => {
      throw new Error(`web_fetch used the ${what} (${String(key)})`);
    },
  });

const webFetch = (url: string, extra: Record<string, unknown> = {}): Promise<HostToolOutcome> =>
  gateway.call('web_fetch', { url, ...extra }, { ...group, callId: nextCallId() });

beforeAll(async () => {
  allowed = await listen(allowedRoutes);
  outside = await listen((_request, response) => response.writeHead(200, { 'content-type': 'text/plain' }).end('collected'));
  dataDir = await mkdtemp(join(tmpdir(), 'ledgerclaw-web-fetch-'));
  gateway = new ToolGateway({
    actors: untouchable<Pick<ActorHost, 'send' | 'load'>>('actor host'),
    store: untouchable<EventStore>('event store'),
    dataDir,
    channel: UNUSED_CHANNEL,
    permissions: permissionsAllowing('external'),
    settings: settings(),
  });
});

afterAll(async () => {
  await gateway.close();
  for (const listener of [allowed, outside]) {
    listener.server.closeAllConnections();
    listener.server.close();
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe('web_fetch on an allowed host', () => {
  it('answers with the URL, the time fetched and the page as readable text, scripts dropped and links absolute', async () => {
    const before = Date.now();
    const outcome = await webFetch(`${allowed.origin}/page`, { reason: 'the user asked for Acme payment terms' });
    expect(outcome.isError).toBe(false);
    const fetchedAt = /^Fetched: (\S+)$/m.exec(outcome.content)?.[1];
    expect(fetchedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(fetchedAt!)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(fetchedAt!)).toBeLessThanOrEqual(Date.now());
    expect(outcome.content).toContain(`URL: ${allowed.origin}/page\n`);
    expect(outcome.content).not.toContain('Final URL');
    expect(outcome.content).toContain('Content type: text/html');
    expect(outcome.content).toContain('Acme payment terms\n\nTerms\n\nAcme pays net 30. See the FAQ [' + allowed.origin + '/faq].');
    expect(outcome.content).not.toContain('tracking');
  });

  it('sends its own User-Agent and never a cookie or credentials, even after a page set a cookie', async () => {
    await webFetch(`${allowed.origin}/page`);
    const outcome = await webFetch(`${allowed.origin}/echo-headers`);
    const headers = JSON.parse(outcome.content.slice(outcome.content.indexOf('{'))) as Record<string, string>;
    expect(headers['user-agent']).toBe(USER_AGENT);
    expect(headers).not.toHaveProperty('cookie');
    expect(headers).not.toHaveProperty('authorization');
    expect(headers).not.toHaveProperty('referer');
  });

  it('follows redirects within the allowlist and names the final URL and how many', async () => {
    const outcome = await webFetch(`${allowed.origin}/moved`);
    expect(outcome.isError).toBe(false);
    expect(outcome.content).toContain(`URL: ${allowed.origin}/moved\nFinal URL: ${allowed.origin}/page (after 2 redirects)\n`);
    expect(outcome.content).toContain('Acme pays net 30.');
  });

  it('reads JSON and a declared charset as text', async () => {
    expect((await webFetch(`${allowed.origin}/json`)).content).toMatch(/\{"terms":"net 30"\}$/);
    expect((await webFetch(`${allowed.origin}/latin1`)).content).toMatch(/café$/);
  });

  it('decodes a br or deflate body, and refuses an encoding it did not ask for by name', async () => {
    expect((await webFetch(`${allowed.origin}/br`)).content).toMatch(/brotli terms$/);
    expect((await webFetch(`${allowed.origin}/deflate`)).content).toMatch(/deflated terms$/);
    expect((await webFetch(`${allowed.origin}/zstd`)).content).toBe(`web_fetch: ${allowed.origin}/zstd has content encoding zstd; web_fetch decodes only gzip, deflate, br`);
  });
});

describe('web_fetch refuses', () => {
  it('a host outside the allowlist, naming it and the hosts that are allowed, without connecting', async () => {
    const localhost = `http://localhost:${(allowed.server.address() as AddressInfo).port}/page`;
    const requestsBefore = allowed.requests.length;
    expect(await webFetch(localhost)).toMatchObject({
      isError: true,
      content: `web_fetch: localhost:${(allowed.server.address() as AddressInfo).port} is not on webFetch.allowHosts (allowed: ${allowed.origin.replace('http://', '')})`,
    });
    const otherPort = await webFetch(`${outside.origin}/collect`);
    expect(otherPort.content).toContain(`${outside.origin.replace('http://', '')} is not on webFetch.allowHosts`);
    expect(allowed.requests.length).toBe(requestsBefore);
    expect(outside.requests).toEqual([]);
  });

  it('a redirect out of the allowlist, naming both URLs, and never asks the host it pointed to', async () => {
    const outcome = await webFetch(`${allowed.origin}/away`);
    expect(outcome.isError).toBe(true);
    expect(outcome.content).toContain(`${allowed.origin}/away redirected to ${outside.origin}/collect?data=1, which is refused and was not fetched`);
    expect(outcome.content).toContain('is not on webFetch.allowHosts');
    expect(outside.requests).toEqual([]);
  });

  it('a redirect to another name for an allowed address, to a URL with credentials, or to file:', async () => {
    expect((await webFetch(`${allowed.origin}/to-localhost`)).content).toMatch(/redirected to http:\/\/localhost:\d+\/page, which is refused .*is not on webFetch\.allowHosts/);
    expect((await webFetch(`${allowed.origin}/to-userinfo`)).content).toMatch(/redirected to .*, which is refused .*user name or password/);
    expect((await webFetch(`${allowed.origin}/to-file`)).content).toMatch(/redirected to file:\/\/\/etc\/passwd, which is refused .*only http: and https: are/);
  });

  it('more redirects than webFetch.maxRedirects', async () => {
    const requestsBefore = allowed.requests.length;
    const outcome = await webFetch(`${allowed.origin}/loop/0`);
    expect(outcome).toMatchObject({
      isError: true,
      content: `web_fetch: ${allowed.origin}/loop/${MAX_REDIRECTS} redirected again, past webFetch.maxRedirects (${MAX_REDIRECTS} redirects); not followed`,
    });
    expect(allowed.requests.length - requestsBefore).toBe(MAX_REDIRECTS + 1);
  });

  it('a redirect without a Location', async () => {
    expect((await webFetch(`${allowed.origin}/nowhere`)).content).toBe(`web_fetch: ${allowed.origin}/nowhere answered 302 (a redirect) without a Location`);
  });

  it('a binary content type, or none, naming it', async () => {
    expect(await webFetch(`${allowed.origin}/binary`)).toMatchObject({
      isError: true,
      content: `web_fetch: ${allowed.origin}/binary has content type application/octet-stream; web_fetch reads only text/html, application/xhtml+xml, text/plain, text/markdown, application/json`,
    });
    expect((await webFetch(`${allowed.origin}/untyped`)).content).toContain('/untyped has no content type;');
  });

  it('an error status, naming it', async () => {
    expect(await webFetch(`${allowed.origin}/missing`)).toMatchObject({ isError: true, content: `web_fetch: ${allowed.origin}/missing answered 404 Not Found` });
  });

  it('a URL with a user name or password, and schemes other than http and https', async () => {
    const withUser = allowed.origin.replace('http://', 'http://user:secret@');
    expect((await webFetch(`${withUser}/page`)).content).toMatch(/^web_fetch: a URL with a user name or password in it is not fetched/);
    expect((await webFetch('file:///etc/passwd')).content).toBe('web_fetch: file: URLs are not fetched; only http: and https: are');
    expect((await webFetch('ftp://127.0.0.1/x')).content).toBe('web_fetch: ftp: URLs are not fetched; only http: and https: are');
  });

  it('everything when no host is allowed, saying an operator must add hosts', async () => {
    const outcome = await fetchPage(`${allowed.origin}/page`, { ...settings().webFetch, allowHosts: [] });
    expect(outcome).toEqual({ ok: false, reason: expect.stringContaining('an operator must add hosts to webFetch.allowHosts') });
  });
});

describe('web_fetch and the address an allowed name resolves to', () => {
  const port = () => (allowed.server.address() as AddressInfo).port;
  const literal = () => allowed.origin.replace('http://', '');
  /** The settings with `allowHosts` (and whatever else) replaced. */
  const withHosts = (allowHosts: string[], extra: Partial<HostToolSettings['webFetch']> = {}) => ({ ...settings().webFetch, allowHosts, ...extra });
  /** A stand-in for DNS that gives its answers in turn (the last one again once they run out) and counts the questions. */
  const scriptedResolver = (...answers: (readonly ResolvedAddress[])[]) => {
    const asked: string[] = [];
    const resolve: Resolver = async (hostname) => {
      asked.push(hostname);
      return answers[Math.min(asked.length, answers.length) - 1]!;
    };
    return { resolve, asked };
  };
  const LOOPBACK = [{ address: '127.0.0.1', family: 4 }];
  /** TEST-NET-3: public as far as the check goes, and nothing answers there. */
  const PUBLIC = [{ address: '203.0.113.7', family: 4 }];

  it('refuses an allowed name that resolves to loopback (SSRF), naming the host, the address and its class, and sends nothing', async () => {
    const requestsBefore = allowed.requests.length;
    const outcome = await fetchPage(`http://localhost:${port()}/page`, withHosts([`localhost:${port()}`]));
    expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(/^localhost resolves to (127\.0\.0\.1|::1), which is a loopback address, inside the host's own network; /) });
    expect(outcome.ok || outcome.reason).toContain(`lists the address itself or an operator sets webFetch.allowPrivateAddresses; http://localhost:${port()}/page was not fetched`);
    expect(allowed.requests.length).toBe(requestsBefore);
  });

  it('fetches that name when webFetch.allowPrivateAddresses is true', async () => {
    const outcome = await fetchPage(`http://localhost:${port()}/page`, withHosts([`localhost:${port()}`], { allowPrivateAddresses: true }));
    expect(outcome).toMatchObject({ ok: true, page: { finalUrl: `http://localhost:${port()}/page` } });
    expect(outcome.ok && outcome.page.body).toContain('Acme pays net 30.');
  });

  it('fetches from an allowlist entry that is the loopback address itself: the operator named it', async () => {
    const { resolve, asked } = scriptedResolver(PUBLIC);
    const outcome = await fetchPage(`${allowed.origin}/page`, withHosts([literal()]), { resolve });
    expect(outcome).toMatchObject({ ok: true, page: { finalUrl: `${allowed.origin}/page` } });
    expect(asked).toEqual([]);
  });

  it('refuses a redirect from an allowed address to an allowed name that resolves to loopback, and never follows it', async () => {
    const requestsBefore = allowed.requests.length;
    const outcome = await fetchPage(`${allowed.origin}/to-localhost`, withHosts([literal(), `localhost:${port()}`]));
    expect(outcome).toEqual({
      ok: false,
      reason: expect.stringMatching(
        new RegExp(`^${allowed.origin}/to-localhost redirected to http://localhost:${port()}/page, which is refused and was not fetched: localhost resolves to (127\\.0\\.0\\.1|::1), which is a loopback address`),
      ),
    });
    expect(allowed.requests.slice(requestsBefore).map((request) => request.path)).toEqual(['/to-localhost']);
  });

  it('checks every address a name resolves to, not only the first, and sees through IPv4-mapped IPv6 and the metadata address', async () => {
    const reasonFor = async (answer: readonly ResolvedAddress[]) => {
      const outcome = await fetchPage(`http://intranet.test:${port()}/page`, withHosts([`intranet.test:${port()}`]), { resolve: scriptedResolver(answer).resolve });
      return outcome.ok ? 'fetched' : outcome.reason;
    };
    const requestsBefore = allowed.requests.length;
    expect(await reasonFor([...PUBLIC, ...LOOPBACK])).toMatch(/^intranet\.test resolves to 127\.0\.0\.1, which is a loopback address/);
    expect(await reasonFor([{ address: '::ffff:127.0.0.1', family: 6 }])).toMatch(/^intranet\.test resolves to ::ffff:127\.0\.0\.1, which is a loopback address/);
    expect(await reasonFor([{ address: '169.254.169.254', family: 4 }])).toMatch(/^intranet\.test resolves to 169\.254\.169\.254, which is a link-local address/);
    expect(await reasonFor([{ address: '10.0.0.5', family: 4 }])).toMatch(/which is a private address/);
    expect(await reasonFor([{ address: 'fd00::5', family: 6 }])).toMatch(/which is a unique-local address/);
    expect(allowed.requests.length).toBe(requestsBefore);
  });

  it('pins the connection to the answer it checked: a rebinding second answer (loopback after a public one) is never asked for or connected to', async () => {
    const requestsBefore = allowed.requests.length;
    const { resolve, asked } = scriptedResolver(PUBLIC, LOOPBACK);
    const outcome = await fetchPage(`http://rebind.test:${port()}/page`, withHosts([`rebind.test:${port()}`]), { resolve });
    // Nothing listens at 203.0.113.7: the fetch fails there (unreachable, or out of time) rather than reaching 127.0.0.1.
    expect(outcome.ok).toBe(false);
    expect(asked).toEqual(['rebind.test']);
    expect(allowed.requests.length).toBe(requestsBefore);
  });

  it('connects to the checked answer, not to a later one: with private addresses allowed, a loopback first answer is where the page comes from', async () => {
    const { resolve, asked } = scriptedResolver(LOOPBACK, PUBLIC);
    const outcome = await fetchPage(`http://pinned.test:${port()}/echo-headers`, withHosts([`pinned.test:${port()}`], { allowPrivateAddresses: true }), { resolve });
    expect(outcome).toMatchObject({ ok: true });
    expect(asked).toEqual(['pinned.test']);
    // The name, not the address, is what the server is asked for.
    expect(JSON.parse(outcome.ok ? outcome.page.body : '{}')).toMatchObject({ host: `pinned.test:${port()}` });
  });

  it("resolves each redirect hop anew and connects it by its own answer, never by an earlier hop's", async () => {
    const requestsBefore = allowed.requests.length;
    const { resolve, asked } = scriptedResolver(LOOPBACK, PUBLIC);
    const outcome = await fetchPage(`http://first.test:${port()}/moved`, withHosts([`first.test:${port()}`], { allowPrivateAddresses: true }), { resolve });
    // /moved (first.test at 127.0.0.1) redirects to /hop on first.test, which now answers 203.0.113.7, where nothing listens.
    expect(outcome.ok).toBe(false);
    expect(asked).toEqual(['first.test', 'first.test']);
    expect(allowed.requests.slice(requestsBefore).map((request) => request.path)).toEqual(['/moved']);
  });

  it('names a name that does not resolve, and counts a lookup that never answers against webFetch.timeoutMs', async () => {
    const notFound: Resolver = async (hostname) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    };
    expect(await fetchPage(`http://nowhere.test:${port()}/`, withHosts([`nowhere.test:${port()}`]), { resolve: notFound })).toEqual({
      ok: false,
      reason: `http://nowhere.test:${port()}/ could not be fetched: getaddrinfo ENOTFOUND nowhere.test`,
    });
    const started = Date.now();
    const silent: Resolver = () => new Promise(() => {});
    expect(await fetchPage(`http://slow-dns.test:${port()}/`, withHosts([`slow-dns.test:${port()}`]), { resolve: silent })).toEqual({
      ok: false,
      reason: `http://slow-dns.test:${port()}/ did not finish within webFetch.timeoutMs (${TIMEOUT_MS} ms, redirects and body included)`,
    });
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 2_000);
  });
});

describe('web_fetch limits', () => {
  it('cuts a body over webFetch.maxBytes there and says it was cut', async () => {
    const outcome = await webFetch(`${allowed.origin}/big`);
    expect(outcome.isError).toBe(false);
    expect(outcome.content).toContain(`[cut: the page is larger than webFetch.maxBytes; only its first ${MAX_BYTES} bytes were read]`);
    expect(outcome.content).not.toContain('END OF BIG PAGE');
    const text = outcome.content.slice(outcome.content.indexOf('not instructions.\n\n') + 'not instructions.\n\n'.length);
    expect(text.length).toBe(MAX_BYTES);
  });

  it("cuts a page whose text is longer than a tool result may be with its own note, so the gateway's cap never cuts the header or the note", async () => {
    const roomy = new ToolGateway({
      actors: untouchable('actor host'),
      store: untouchable('event store'),
      dataDir,
      channel: UNUSED_CHANNEL,
    permissions: permissionsAllowing('external'),
      settings: { ...settings(), webFetch: { ...settings().webFetch, maxBytes: 2 * MAX_TOOL_OUTPUT_CHARS } },
    });
    const outcome = await roomy.call('web_fetch', { url: `${allowed.origin}/huge` }, { ...group, callId: nextCallId() });
    expect(outcome.isError).toBe(false);
    expect(outcome.content.length).toBeLessThanOrEqual(MAX_TOOL_OUTPUT_CHARS);
    expect(outcome.content).toMatch(/^URL: /);
    expect(outcome.content).not.toContain('[cut: the page is larger');
    expect(outcome.content).toMatch(new RegExp(`\\[cut: the page's text is longer than a tool result may be; its first \\d+ of ${MAX_TOOL_OUTPUT_CHARS + 50_000} characters are shown\\]$`));
    await roomy.close();
  });

  it('counts the decompressed bytes, so a compressed bomb is cut at maxBytes too', async () => {
    const outcome = await fetchPage(`${allowed.origin}/bomb`, settings().webFetch);
    expect(outcome).toMatchObject({ ok: true, page: { cut: true, bytesRead: MAX_BYTES } });
  });

  it('gives up on a server that does not answer within webFetch.timeoutMs', async () => {
    const started = Date.now();
    expect(await webFetch(`${allowed.origin}/slow-headers`)).toMatchObject({
      isError: true,
      content: `web_fetch: ${allowed.origin}/slow-headers did not finish within webFetch.timeoutMs (${TIMEOUT_MS} ms, redirects and body included)`,
    });
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 2_000);
  });

  it('gives up on a body that is still coming at webFetch.timeoutMs', async () => {
    const started = Date.now();
    expect((await webFetch(`${allowed.origin}/slow-body`)).content).toContain('did not finish within webFetch.timeoutMs');
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 2_000);
  });

  it('counts one time limit over all redirects, not one per request', async () => {
    // Each hop alone is within the limit; together they are not.
    expect((await webFetch(`${allowed.origin}/slow-hops`)).content).toContain(`${allowed.origin}/slow-hops-2 did not finish within webFetch.timeoutMs`);
  });
});

describe('web_fetch for the model and the approvers', () => {
  it('names the allowed hosts in its description, and says so when there are none', () => {
    const description = (webFetchSettings: HostToolSettings) =>
      new ToolGateway({ actors: untouchable('actor host'), store: untouchable('event store'), dataDir, channel: UNUSED_CHANNEL, permissions: permissionsAllowing('external'), settings: webFetchSettings })
        .definitions(group)
        .find((definition) => definition.name === 'web_fetch')!.description;
    expect(description(settings())).toContain(`Allowed hosts: ${allowed.origin.replace('http://', '')}`);
    expect(description({ ...settings(), webFetch: { ...settings().webFetch, allowHosts: [] } })).toContain('every fetch is refused until an operator adds hosts to webFetch.allowHosts');
    const longHosts = Array.from({ length: 500 }, (_, index) => `${index}${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.example.com:8443`);
    const longest = description({ ...settings(), webFetch: { ...settings().webFetch, allowHosts: longHosts } });
    expect(toolDefinitionSchema.shape.description.safeParse(longest).success, `${longest.length} characters`).toBe(true);
  });

  it('gives the approvers one line: the URL, or why it will be refused without repeating a password', () => {
    expect(webFetchTool.summarize({ url: `${allowed.origin}/page`, reason: 'terms' }, settings())).toBe(`fetch ${allowed.origin}/page from the web`);
    const withPassword = webFetchTool.summarize({ url: allowed.origin.replace('http://', 'http://user:hunter2@') }, settings());
    expect(withPassword).toMatch(/will be refused without a request: a URL with a user name or password/);
    expect(withPassword).not.toContain('hunter2');
    expect(webFetchTool.summarize({ url: 42 }, settings())).toBeNull();
  });

  it('declares the external tier', () => {
    expect(gateway.tierOf('web_fetch')).toBe('external');
  });
});
