/**
 * A fetched page as the model reads it: HTML as text (what is not reading matter dropped,
 * links absolute), other accepted types as they came.
 */
import { describe, expect, it } from 'vitest';
import { isReadableMediaType, pageText } from '../../../runtime/gateways/web/page-text.js';

const PAGE = `<!doctype html><html><head><title>Acme terms</title><style>body { color: red }</style>
<script>window.secret = "do not show"</script></head>
<body><h1>Payment terms</h1>
<p>Acme pays <b>net 30</b>; see <a href="../billing/faq?lang=en">the billing FAQ</a> or <a href="mailto:ap@acme.test">write to us</a>.</p>
<p><a href="javascript:steal()">click</a> <a href="#top">top</a> <a href="https://other.test/">https://other.test/</a></p>
<img src="logo.png" alt="Acme logo"><noscript>Enable JavaScript</noscript><svg><text>vector</text></svg>
<iframe src="https://ads.test/"></iframe>
<ul><li>First</li><li>Second</li></ul>
<table><tr><th>Plan</th><th>Days</th></tr><tr><td>Standard</td><td>30</td></tr></table>
</body></html>`;

describe('page text', () => {
  const text = pageText(PAGE, 'text/html', 'https://docs.acme.test/terms/payment.html');

  it('reads HTML as text, title first, headings as written', () => {
    expect(text.startsWith('Acme terms\n\nPayment terms')).toBe(true);
    expect(text).toContain('Acme pays net 30;');
    expect(text).toMatch(/\* First\s+\* Second/);
    expect(text).toMatch(/Plan\s+Days\s+Standard\s+30/);
  });

  it('drops scripts, styles, images, noscript, svg and frames', () => {
    for (const gone of ['do not show', 'color: red', 'Acme logo', 'logo.png', 'Enable JavaScript', 'vector', 'ads.test']) expect(text, gone).not.toContain(gone);
  });

  it('keeps links as their text and absolute URL, drops javascript: and in-page anchors, and does not repeat a URL shown as its own text', () => {
    expect(text).toContain('the billing FAQ [https://docs.acme.test/billing/faq?lang=en]');
    expect(text).toContain('write to us [ap@acme.test]');
    expect(text).not.toContain('javascript:');
    expect(text).not.toContain('#top');
    expect(text).toContain('click top https://other.test/');
    expect(text).not.toContain('[https://other.test/]');
  });

  it('reads an HTML fragment without <body> whole', () => {
    expect(pageText('<p>Only <em>this</em>.</p>', 'text/html', 'https://a.test/')).toBe('Only this.');
  });

  it('gives plain text, Markdown and JSON as they came', () => {
    expect(pageText('# Title\n\n<b>not html</b>', 'text/markdown', 'https://a.test/')).toBe('# Title\n\n<b>not html</b>');
    expect(pageText('{"a":1}', 'application/json', 'https://a.test/')).toBe('{"a":1}');
  });

  it('accepts only the readable media types', () => {
    for (const type of ['text/html', 'application/xhtml+xml', 'text/plain', 'text/markdown', 'application/json']) expect(isReadableMediaType(type), type).toBe(true);
    for (const type of ['application/pdf', 'image/png', 'application/octet-stream', 'text/javascript', '']) expect(isReadableMediaType(type), type).toBe(false);
  });
});
