/**
 * A fetched page as text a model reads: HTML through html-to-text (scripts, styles, images,
 * embedded frames and other things that are not reading matter dropped; links kept as
 * their text followed by the absolute URL in brackets), any other accepted type as it came.
 */
import { compile, type SelectorDefinition } from 'html-to-text';

/** The media types web_fetch accepts: text a model can read. Anything else is refused by name. */
export const READABLE_MEDIA_TYPES = ['text/html', 'application/xhtml+xml', 'text/plain', 'text/markdown', 'application/json'] as const;

export type ReadableMediaType = (typeof READABLE_MEDIA_TYPES)[number];

export function isReadableMediaType(mediaType: string): mediaType is ReadableMediaType {
  return (READABLE_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

/** Elements whose content is not text to read. */
const SKIPPED = ['script', 'style', 'noscript', 'template', 'img', 'picture', 'svg', 'canvas', 'iframe', 'object', 'embed', 'video', 'audio'];

/**
 * The page's readable text. `pageUrl` is where the page came from (after redirects): a
 * relative link is made absolute against it, so a link the model reads is one it can fetch.
 */
export function pageText(body: string, mediaType: ReadableMediaType, pageUrl: string): string {
  if (mediaType !== 'text/html' && mediaType !== 'application/xhtml+xml') return body;
  const title = titleOf(body).trim();
  const text = bodyToText(pageUrl)(body).trim();
  return title === '' ? text : `${title}\n\n${text}`;
}

const titleOf = compile({ wordwrap: false, baseElements: { selectors: ['title'], returnDomByDefault: false } });

/** Compiled per page, since links resolve against the page's own URL. */
function bodyToText(pageUrl: string): (html: string) => string {
  const selectors: SelectorDefinition[] = [
    ...SKIPPED.map((selector) => ({ selector, format: 'skip' })),
    // A document without a <body> (a fragment) is read whole; its <title> is left to titleOf.
    { selector: 'title', format: 'skip' },
    { selector: 'a', options: { pathRewrite: (href: string) => absoluteWebUrl(href, pageUrl), hideLinkHrefIfSameAsText: true, noAnchorUrl: true } },
    // html-to-text strips `mailto:` before the rewrite; the address is kept as it is.
    { selector: 'a[href^="mailto:"]', format: 'anchor', options: { pathRewrite: (address: string) => address, linkBrackets: ['[', ']'] } },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
  ];
  return compile({ wordwrap: false, baseElements: { selectors: ['body'], returnDomByDefault: true }, selectors });
}

/** An http(s) link made absolute, or '' (html-to-text then keeps only the link's text) for javascript:, data: and the unparsable. */
function absoluteWebUrl(href: string, pageUrl: string): string {
  try {
    const url = new URL(href, pageUrl);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '';
  } catch {
    return '';
  }
}
