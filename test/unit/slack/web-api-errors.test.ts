/**
 * WebClient's failures as one code (the Slack channel's checks, the history connector's SlackApiError): Slack's own
 * error code, `ratelimited` (rejected at once, or still limited after the retries),
 * `http_<status>`, `request_failed (…)`, and `invalid_response` for a body that was not JSON.
 */
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { slackErrorCode } from '../../../runtime/channels/slack/web-api-errors.js';

describe('slackErrorCode', () => {
  it("is Slack's error code for an ok: false answer", () => {
    expect(slackErrorCode(new WebAPIPlatformError({ ok: false, error: 'channel_not_found' }))).toBe('channel_not_found');
    expect(slackErrorCode(new WebAPIPlatformError({ ok: false, error: 'not_in_channel' }))).toBe('not_in_channel');
  });

  it('is invalid_response when the answer was not JSON (WebClient puts the body in error)', () => {
    expect(slackErrorCode(new WebAPIPlatformError({ ok: false, error: '<html><body>Bad gateway</body></html>' }))).toBe('invalid_response');
  });

  it('is ratelimited for a rejected 429 and for one still limited after the retries', () => {
    expect(slackErrorCode(new WebAPIRateLimitedError(30))).toBe('ratelimited');
    expect(slackErrorCode(new WebAPIRequestError(new Error('A rate limit was exceeded (url: https://slack.com/api/conversations.history, retry-after: 3)')))).toBe('ratelimited');
    expect(slackErrorCode(new Error('Retry header did not contain a valid timeout (url: https://slack.com/api/auth.test, retry-after header: soon)'))).toBe('ratelimited');
  });

  it('is http_<status> for an HTTP error and request_failed for a call that was not answered', () => {
    expect(slackErrorCode(new WebAPIHTTPError(503, 'Service Unavailable', {}, ''))).toBe('http_503');
    expect(slackErrorCode(new WebAPIRequestError(new TypeError('fetch failed')))).toBe('request_failed (fetch failed)');
    expect(slackErrorCode('boom')).toBe('request_failed (boom)');
  });
});
