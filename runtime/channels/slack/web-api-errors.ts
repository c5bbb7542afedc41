/**
 * What a failed @slack/web-api call stands for, as Slack's own error code (`channel_not_found`,
 * `already_reacted`), `ratelimited`, `http_<status>`, or `request_failed (<why>)`: one word
 * callers can compare and messages can name, without the client's error classes.
 */
import { ErrorCode, type WebAPICallError } from '@slack/web-api';

/** The Slack error code a WebClient failure stands for. */
export function slackErrorCode(error: unknown): string {
  let message: string;
  if (isWebApiCallError(error)) {
    switch (error.code) {
      case ErrorCode.PlatformError:
        // A body that was not JSON comes back as `ok: false` with the body as its error.
        return typeof error.data.error === 'string' && /^[a-z][a-z0-9_]*$/.test(error.data.error) ? error.data.error : 'invalid_response';
      case ErrorCode.RateLimitedError:
        return 'ratelimited';
      case ErrorCode.HTTPError:
        return `http_${error.statusCode}`;
      case ErrorCode.RequestError:
        message = error.original.message;
        break;
    }
  } else {
    message = error instanceof Error ? error.message : String(error);
  }
  // Still rate limited after its retries, WebClient gives up with a request error "A rate
  // limit was exceeded …"; a 429 without a usable Retry-After, with a plain Error.
  return /^(A rate limit was exceeded|Retry header did not contain)/.test(message) ? 'ratelimited' : `request_failed (${message})`;
}

const WEB_API_ERROR_CODES: ReadonlySet<string> = new Set([ErrorCode.PlatformError, ErrorCode.RateLimitedError, ErrorCode.HTTPError, ErrorCode.RequestError]);

function isWebApiCallError(error: unknown): error is WebAPICallError {
  return error instanceof Error && WEB_API_ERROR_CODES.has((error as { code?: unknown }).code as string);
}
