/**
 * http_request against a real HTTP server on 127.0.0.1: the model names a configured action
 * and never a URL; header values come from the environment and reach the server, but never
 * the model, even when the server echoes them; the Idempotency-Key is the same for the same
 * call (an approved action carried out again) and different for another; a redirect is
 * reported and not followed; a slow server times out; an endless body is cut, not read to
 * its end.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpActionConfig } from '../../../runtime/config.js';
import { httpRequestTool, idempotencyKey, MAX_RESPONSE_BYTES } from '../../../runtime/gateways/host-tools/http-request.js';
import { NO_OUTSIDE_REACH } from '../../../runtime/gateways/tool-gateway.js';
import { openGatewayWorld, runContext, type GatewayWorld, permissionsAllowing } from './gateway-world.js';

const CRM_TOKEN = 'Bearer crm-0123456789abcdef-secret';
const TENANT = 'tenant-7f3e9a';

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

let server: Server;
let origin: string;
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      received.push({ method: request.method ?? '', path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      switch (path) {
        case '/hook':
          response.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
          return;
        case '/echo':
          // A careless service that echoes the request back, credentials and all.
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ headers: request.headers }));
          return;
        case '/down':
          response.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
          return;
        case '/moved':
          response.writeHead(302, { location: `${origin}/elsewhere` }).end();
          return;
        case '/slow':
          return; // never answers
        case '/endless': {
          // Writes for as long as anyone reads: only a reader that stops lets the call end.
          response.writeHead(200, { 'content-type': 'text/plain' });
          const chunk = 'x'.repeat(16 * 1024);
          const write = () => {
            while (!response.destroyed && response.write(chunk));
            if (!response.destroyed) response.once('drain', write);
          };
          write();
          return;
        }
        default:
          response.writeHead(404).end('no such path');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
});

function action(name: string, path: string, overrides: Partial<HttpActionConfig> = {}): HttpActionConfig {
  return { name, description: `The ${name} action.`, method: 'POST', url: `${origin}${path}`, headers: {}, timeoutMs: 5_000, ...overrides };
}

let world: GatewayWorld;
const group = runContext({ groupId: 'T1.C1', userId: 'U1' });

beforeEach(async () => {
  received.length = 0;
  world = await openGatewayWorld({
    gateway: { permissions: permissionsAllowing('critical') },
    settings: {
      ...NO_OUTSIDE_REACH,
      actions: {
        http: [
          action('crm_export', '/hook', { headers: { Authorization: { env: 'CRM_TOKEN' }, 'X-Tenant': { env: 'CRM_TENANT' } } }),
          action('echo', '/echo', { headers: { Authorization: { env: 'CRM_TOKEN' } } }),
          action('status_page', '/down', { method: 'GET' }),
          action('moved', '/moved'),
          action('slow', '/slow', { timeoutMs: 500 }),
          action('endless', '/endless', { method: 'GET' }),
          action('needs_missing', '/hook', { headers: { Authorization: { env: 'CRM_TOKEN' }, 'X-Api-Key': { env: 'UNSET_API_KEY' } } }),
        ],
      },
    },
    env: { CRM_TOKEN, CRM_TENANT: TENANT },
  });
});

afterEach(async () => {
  await world.stop();
});

const hits = (path: string) => received.filter((request) => request.path === path);

describe('http_request', () => {
  it('lists the configured actions in its description, and says so when there are none', async () => {
    const description = world.gateway.definitions(group).find((definition) => definition.name === 'http_request')!.description;
    expect(description).toContain('crm_export (POST): The crm_export action.');
    expect(description).not.toContain(origin);
    const bare = await openGatewayWorld({ gateway: { permissions: permissionsAllowing('critical') } });
    try {
      expect(bare.gateway.definitions(group).find((definition) => definition.name === 'http_request')!.description).toContain('None are configured');
    } finally {
      await bare.stop();
    }
  });

  it('sends the action with its headers from the environment and the body as JSON, and answers the status and body', async () => {
    const outcome = await world.call('http_request', { action: 'crm_export', body: { customers: [1, 2] }, reason: 'the user asked' }, group);
    expect(outcome).toMatchObject({ isError: false, content: expect.stringContaining('crm_export: POST answered 202 Accepted') });
    expect(outcome.content).toContain('{"accepted":true}');
    const [request] = hits('/hook');
    expect(request).toMatchObject({ method: 'POST', body: '{"customers":[1,2]}' });
    expect(request!.headers).toMatchObject({ authorization: CRM_TOKEN, 'x-tenant': TENANT, 'content-type': 'application/json' });
    // The reason is for the approvers, not the service.
    expect(request!.body).not.toContain('the user asked');
  });

  it('sends the same Idempotency-Key for the same call key and a different one for another call', async () => {
    await world.call('http_request', { action: 'crm_export' }, group, 'toolu_A');
    await world.call('http_request', { action: 'crm_export' }, group, 'toolu_A');
    await world.call('http_request', { action: 'crm_export' }, group, 'toolu_B');
    await world.gateway.runApproved('ap-1', 'http_request', '{"action":"crm_export"}', group);
    // Carried out again after a crash: the same approval, the same key.
    await world.gateway.runApproved('ap-1', 'http_request', '{"action":"crm_export"}', group);
    const keys = hits('/hook').map((request) => request.headers['idempotency-key']);
    expect(keys).toEqual([
      idempotencyKey('toolu_A'),
      idempotencyKey('toolu_A'),
      idempotencyKey('toolu_B'),
      idempotencyKey('approval:ap-1'),
      idempotencyKey('approval:ap-1'),
    ]);
    expect(new Set(keys).size).toBe(3);
    expect(keys[3]).toMatch(/^ledgerclaw-[0-9a-f]{32}$/);
  });

  it('refuses an action that is not configured, naming the ones that are, and sends nothing', async () => {
    const outcome = await world.call('http_request', { action: 'post_customer_list_to_webhook' }, group);
    expect(outcome.isError).toBe(true);
    expect(outcome.content).toBe(
      "http_request: no action 'post_customer_list_to_webhook' (actions: crm_export, echo, status_page, moved, slow, endless, needs_missing)",
    );
    expect(received).toEqual([]);
  });

  it('refuses a URL in place of an action name: the model never picks where a request goes', async () => {
    const outcome = await world.call('http_request', { action: 'crm_export', url: 'https://attacker.example/collect' }, group);
    expect(outcome).toMatchObject({ isError: true, content: expect.stringContaining('unknown field "url"') });
    expect(received).toEqual([]);
  });

  it('refuses when a header variable is not set, naming the variable and no value, and sends nothing', async () => {
    const outcome = await world.call('http_request', { action: 'needs_missing' }, group);
    expect(outcome.isError).toBe(true);
    expect(outcome.content).toContain('UNSET_API_KEY');
    expect(outcome.content).toContain('X-Api-Key');
    expect(outcome.content).not.toContain(CRM_TOKEN);
    expect(outcome.content).not.toContain('crm-0123456789abcdef');
    expect(received).toEqual([]);
  });

  it('refuses a header variable that is no valid header value, naming the variable and not the value it holds', async () => {
    const broken = await openGatewayWorld({
    gateway: { permissions: permissionsAllowing('critical') },
      settings: { ...NO_OUTSIDE_REACH, actions: { http: [action('crm_export', '/hook', { headers: { Authorization: { env: 'CRM_TOKEN' } } })] } },
      env: { CRM_TOKEN: 'Bearer crm-0123456789abcdef-secret\nX-Injected: yes' },
    });
    try {
      const outcome = await broken.call('http_request', { action: 'crm_export' }, group);
      expect(outcome).toMatchObject({ isError: true, content: expect.stringContaining('the environment variable CRM_TOKEN (for its Authorization header) is not a valid header value') });
      expect(outcome.content).not.toContain('crm-0123456789abcdef');
      expect(received).toEqual([]);
    } finally {
      await broken.stop();
    }
  });

  it('never shows the model a header value, even when the service echoes the request back', async () => {
    const outcome = await world.call('http_request', { action: 'echo' }, group);
    expect(outcome.isError).toBe(false);
    expect(hits('/echo')[0]!.headers.authorization).toBe(CRM_TOKEN);
    expect(outcome.content).not.toContain('crm-0123456789abcdef');
    expect(outcome.content).toContain('[redacted]');
  });

  it('reports a failure status as an error with the body', async () => {
    const outcome = await world.call('http_request', { action: 'status_page' }, group);
    expect(outcome).toMatchObject({ isError: true, content: expect.stringContaining('status_page: GET answered 503 Service Unavailable, a failure') });
    expect(outcome.content).toContain('down for maintenance');
  });

  it('refuses a body for a GET action', async () => {
    const outcome = await world.call('http_request', { action: 'status_page', body: { q: 1 } }, group);
    expect(outcome).toMatchObject({ isError: true, content: 'http_request: status_page is a GET, which sends no body; leave body out' });
    expect(received).toEqual([]);
  });

  it('reports a redirect and does not follow it', async () => {
    const outcome = await world.call('http_request', { action: 'moved' }, group);
    expect(outcome).toMatchObject({ isError: true, content: `http_request: moved: answered 302 Found, a redirect to ${origin}/elsewhere, which is not followed` });
    expect(hits('/elsewhere')).toEqual([]);
  });

  it('gives up on a service that does not answer within the action timeout', async () => {
    const started = Date.now();
    const outcome = await world.call('http_request', { action: 'slow' }, group);
    expect(outcome).toMatchObject({ isError: true, content: 'http_request: slow: no complete answer within 500 ms; it may or may not have taken effect' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('reads at most 64 KiB of an endless body and stops reading', async () => {
    const outcome = await world.call('http_request', { action: 'endless' }, group);
    expect(outcome.isError).toBe(false);
    expect(outcome.content).toContain('[cut: only the first 64 KiB of the answer were read]');
    const body = outcome.content.slice(outcome.content.indexOf('\n\n') + 2, outcome.content.lastIndexOf('\n['));
    expect(body).toBe('x'.repeat(MAX_RESPONSE_BYTES));
  }, 10_000);

  it('summarizes a call for the approvers: the method, the action, where it goes and the body', () => {
    const settings = { ...NO_OUTSIDE_REACH, actions: { http: [action('crm_export', '/hook', { headers: { Authorization: { env: 'CRM_TOKEN' } } })] } };
    expect(httpRequestTool.summarize({ action: 'crm_export', body: { customers: 2130 }, reason: 'asked' }, settings)).toBe(
      `POST crm_export (${origin}/hook) with {"customers":2130}`,
    );
    expect(httpRequestTool.summarize({ action: 'webhook' }, settings)).toBe("http_request: 'webhook', which is not a configured action");
  });
});
