/**
 * Canonical JSON (RFC 8785): the exact text that is stored and hashed. The same value must
 * always give the same text, whatever order its keys were written in.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../events/canonical-json.js';

describe('canonicalJson', () => {
  it('sorts object keys and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: 2, c: { z: true, y: null } })).toBe('{"a":2,"b":1,"c":{"y":null,"z":true}}');
  });

  it('gives the same text whatever order the keys were inserted in, at every depth', () => {
    const one = { outer: { b: [{ y: 1, x: 2 }], a: 'a' }, first: 0 };
    const two = { first: 0, outer: { a: 'a', b: [{ x: 2, y: 1 }] } };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
    expect(canonicalJson(one)).toBe('{"first":0,"outer":{"a":"a","b":[{"x":2,"y":1}]}}');
  });

  it('sorts keys by UTF-16 code units, as RFC 8785 requires', () => {
    // The example from RFC 8785 section 3.2.3.
    const value = { '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' };
    // (Checked on the text: Object.keys would list the integer-like key '1' first.)
    expect(canonicalJson(value)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    // Upper case before lower case; a prefix before its extensions.
    expect(canonicalJson({ b: 1, B: 2, a: 3, aa: 4, '': 5 })).toBe('{"":5,"B":2,"a":3,"aa":4,"b":1}');
  });

  it('keeps array order and writes nested arrays and objects', () => {
    expect(canonicalJson([3, 1, [2, { b: 1, a: [] }], {}])).toBe('[3,1,[2,{"a":[],"b":1}],{}]');
  });

  it('writes the JSON scalars', () => {
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson(false)).toBe('false');
    expect(canonicalJson('text')).toBe('"text"');
    expect(canonicalJson(0)).toBe('0');
  });

  it('writes numbers as ECMAScript does', () => {
    expect(canonicalJson([1e21, 1e-7, 0.1 + 0.2, -0, 5e-324, 1.7976931348623157e308, 100, -1.5, 123456789012345680000])).toBe(
      '[1e+21,1e-7,0.30000000000000004,0,5e-324,1.7976931348623157e+308,100,-1.5,123456789012345680000]',
    );
  });

  it('refuses numbers JSON has no form for', () => {
    expect(() => canonicalJson(NaN)).toThrow(TypeError);
    expect(() => canonicalJson(Infinity)).toThrow(TypeError);
    expect(() => canonicalJson(-Infinity)).toThrow(TypeError);
    expect(() => canonicalJson({ nested: [1, NaN] })).toThrow(/NaN/);
  });

  it('refuses values JSON has no form for', () => {
    expect(() => canonicalJson(10n)).toThrow(TypeError);
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson(Symbol('s'))).toThrow(TypeError);
    expect(() => canonicalJson(() => 1)).toThrow(TypeError);
    expect(() => canonicalJson({ big: 1n })).toThrow(TypeError);
  });

  it('leaves out undefined properties and writes undefined array items as null, as JSON.stringify does', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
    expect(canonicalJson({ a: undefined, b: 1 })).toBe(JSON.stringify({ b: 1 }));
  });

  it('uses toJSON, so dates are written as ISO strings', () => {
    expect(canonicalJson({ at: new Date('2025-01-02T03:04:05.006Z') })).toBe('{"at":"2025-01-02T03:04:05.006Z"}');
    expect(canonicalJson({ custom: { toJSON: () => ({ z: 1, a: 2 }) } })).toBe('{"custom":{"a":2,"z":1}}');
  });

  it('writes unicode as itself, and escapes only quotes, backslashes and control characters', () => {
    expect(canonicalJson('é 漢字 😀 مرحبا e\u0301')).toBe('"é 漢字 😀 مرحبا e\u0301"');
    expect(canonicalJson('q" b\\ s/')).toBe('"q\\" b\\\\ s/"');
    expect(canonicalJson('\n\t\r\b\f\u0000\u001f')).toBe('"\\n\\t\\r\\b\\f\\u0000\\u001f"');
    expect(canonicalJson('\u007f\u2028')).toBe('"\u007f\u2028"');
  });

  it('never writes a raw newline, so the hash input cannot be split ambiguously', () => {
    expect(canonicalJson({ 'key\n': ['line\nbreak', { x: '\r\n' }] })).not.toMatch(/[\n\r]/);
  });

  it('escapes lone surrogates so the text is well-formed and reads back exactly', () => {
    const value = { text: 'a\ud800b\udfffc', '\udc00': 'key' };
    const text = canonicalJson(value);
    expect(text).toBe('{"text":"a\\ud800b\\udfffc","\\udc00":"key"}');
    expect(text.isWellFormed()).toBe(true);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('round-trips through JSON.parse to an equal value and the same text', () => {
    const value = { z: [1, 'two', { three: 3, 'ünï': 'cödé' }], a: { nested: { deeper: [true, false, null] } }, n: -12.5e-3 };
    const text = canonicalJson(value);
    expect(JSON.parse(text)).toEqual(value);
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });
});
