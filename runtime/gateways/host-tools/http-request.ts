/**
 * http_request: the agent calls one of the HTTP actions the operator named in the config
 * (`actions.http`). The model picks an action by name and may give a JSON body; the method,
 * the URL and the headers are the config's, so an injected prompt cannot aim it anywhere
 * else. It is `critical`: the gateway's policy normally has people approve each call first.
 *
 * - Header values come from the environment variables the config names (services.env), and
 *   go nowhere but the request: never into a log line, an answer or an error. A server
 *   that echoes one back has it cut out of what the model reads.
 * - Each call sends `Idempotency-Key: ledgerclaw-<32 hex>`, a digest of the call key: a
 *   repeat of the call (an approved action, `approval:<id>`, carried out again after a
 *   crash) sends the same key, so a service that honours the header applies it once.
 * - A redirect is reported, not followed; the action's timeout covers the whole exchange;
 *   at most MAX_RESPONSE_BYTES of the answer are read, and the rest is left unread.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { HttpActionConfig } from '../../config.js';
import { redactCredentials, REDACTED } from '../../redaction.js';
import { actionReasonSchema } from './action-reason.js';
import { answered, defineHostTool, refused, type HostToolAnswer, type HostToolSettings } from './host-tool.js';

/** How much of an answer's body is read and shown to the model. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** How much of a body the approvers' one line quotes (they see the whole arguments besides). */
const SUMMARY_BODY_CHARS = 200;
/** A secret shorter than this is not cut out of answers: it would cut ordinary words. */
const MIN_SCRUBBED_SECRET_CHARS = 4;

const httpRequestInput = z.strictObject({
  action: z.string().min(1).max(64).describe('The name of one of the configured actions listed above.'),
  body: z.unknown().optional().describe('Any JSON value, sent as the JSON body of the request (not for GET actions). Leave it out for no body.'),
  reason: actionReasonSchema,
});

export const httpRequestTool = defineHostTool({
  name: 'http_request',
  tier: 'critical',
  description: (_context, settings) => {
    const actions = settings.actions.http;
    if (actions.length === 0) return 'Call one of the HTTP actions the operator configured, by name. None are configured, so there is nothing to call.';
    return (
      'Call one of the HTTP actions the operator configured, by name: you never give a URL, and the headers are filled in for you. ' +
      `Actions: ${actions.map((action) => `${action.name} (${action.method}): ${action.description}`).join('; ')}. ` +
      `Answers the HTTP status and the first ${MAX_RESPONSE_BYTES / 1024} KiB of the response; a redirect is reported, not followed. ` +
      "These actions usually need people's approval first: say in reason why you want to call it."
    );
  },
  inputSchema: httpRequestInput,
  summarize: (input, settings) => {
    const action = findAction(settings, input.action);
    if (action === undefined) return `http_request: '${input.action}', which is not a configured action`;
    const body = input.body === undefined ? '' : ` with ${quoted(JSON.stringify(input.body))}`;
    return `${action.method} ${action.name} (${redactCredentials(action.url)})${body}`;
  },
  async run(input, call) {
    const { services, context } = call;
    const action = findAction(services.settings, input.action);
    if (action === undefined) {
      const names = services.settings.actions.http.map((configured) => configured.name);
      return refused(`http_request: no action '${input.action}' (${names.length === 0 ? 'no actions are configured' : `actions: ${names.join(', ')}`})`);
    }
    if (action.method === 'GET' && input.body !== undefined) return refused(`http_request: ${action.name} is a GET, which sends no body; leave body out`);

    const headers = new Headers();
    const secrets: string[] = [];
    for (const [header, { env }] of Object.entries(action.headers)) {
      const value = services.env[env];
      if (value === undefined || value === '') {
        return refused(`http_request: ${action.name} cannot be called: the environment variable ${env} (for its ${header} header) is not set on the host; the operator must set it`);
      }
      try {
        headers.set(header, value);
      } catch {
        // Its message quotes the value: only the variable is named.
        return refused(`http_request: ${action.name} cannot be called: the environment variable ${env} (for its ${header} header) is not a valid header value (a line break, or a character past Latin-1); the operator must fix it`);
      }
      secrets.push(value);
    }
    headers.set('Idempotency-Key', idempotencyKey(call.callKey));
    if (input.body !== undefined) headers.set('Content-Type', 'application/json');
    const scrub = (text: string) => scrubSecrets(text, secrets);

    let response: Response;
    try {
      response = await fetch(action.url, {
        method: action.method,
        headers,
        ...(input.body !== undefined ? { body: JSON.stringify(input.body) } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(action.timeoutMs),
      });
      const { text, cut } = await readCapped(response);
      return answerOf(action, response, scrub(text), cut, scrub);
    } catch (error) {
      const why = isTimeout(error) ? `no complete answer within ${action.timeoutMs} ms` : `the request failed: ${scrub(describeFetchError(error))}`;
      services.logger.warn({ runId: context.runId, action: action.name, why }, 'http_request: the action failed');
      return refused(`http_request: ${action.name}: ${why}; it may or may not have taken effect`);
    }
  },
});

/** `ledgerclaw-` and the first 32 hex digits of sha256(callKey): the same call, the same key. */
export function idempotencyKey(callKey: string): string {
  return `ledgerclaw-${createHash('sha256').update(callKey).digest('hex').slice(0, 32)}`;
}

function findAction(settings: HostToolSettings, name: string): HttpActionConfig | undefined {
  return settings.actions.http.find((action) => action.name === name);
}

function answerOf(action: HttpActionConfig, response: Response, body: string, cut: boolean, scrub: (text: string) => string): HostToolAnswer {
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get('location');
    return refused(`http_request: ${action.name}: answered ${status}, a redirect${location ? ` to ${scrub(redactCredentials(location))}` : ''}, which is not followed`);
  }
  const shown = `${body}${cut ? `\n[cut: only the first ${MAX_RESPONSE_BYTES / 1024} KiB of the answer were read]` : ''}`;
  const line = `http_request: ${action.name}: ${action.method} answered ${status}`;
  return response.ok ? answered(`${line}\n\n${shown}`) : refused(`${line}, a failure\n\n${shown}`);
}

/** The body's first MAX_RESPONSE_BYTES as text, and whether there was more (which is never read). */
async function readCapped(response: Response): Promise<{ text: string; cut: boolean }> {
  if (response.body === null) return { text: '', cut: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let cut = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      cut = true;
      // Stops the download: the rest of the body is never read.
      await reader.cancel();
      break;
    }
  }
  const bytes = Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES);
  return { text: new TextDecoder('utf-8').decode(bytes), cut };
}

/**
 * `text` without the header values it may carry (a server echoing the request, an error
 * naming it), nor the start of one cut off at the end of a capped body.
 */
function scrubSecrets(text: string, secrets: readonly string[]): string {
  let scrubbed = redactCredentials(text);
  for (const secret of secrets) {
    if (secret.length < MIN_SCRUBBED_SECRET_CHARS) continue;
    scrubbed = scrubbed.split(secret).join(REDACTED);
    for (let length = secret.length - 1; length >= MIN_SCRUBBED_SECRET_CHARS; length -= 1) {
      if (scrubbed.endsWith(secret.slice(0, length))) {
        scrubbed = `${scrubbed.slice(0, -length)}${REDACTED}`;
        break;
      }
    }
  }
  return scrubbed;
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && (error.name === 'TimeoutError' || error.name === 'AbortError');
}

/** Node's fetch says "fetch failed" and puts why (ECONNREFUSED, a TLS error) in its cause. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause ? `${error.message}: ${cause}` : error.message;
}

function quoted(text: string): string {
  return text.length > SUMMARY_BODY_CHARS ? `${text.slice(0, SUMMARY_BODY_CHARS - 1)}…` : text;
}
