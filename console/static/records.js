// Record bytes for the Cloud Kafka console's message browser: the API's
// base64 strings shown as text, pretty-printed JSON or hex.

import { h, muted } from './dom.js';

// ---------------------------------------------------------------------------
// Record bytes: base64 in, text, pretty JSON or hex out
// ---------------------------------------------------------------------------

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function decodeBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function hexBytes(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

// utf8OrNull decodes strict UTF-8, or returns null when the bytes are not.
function utf8OrNull(bytes) {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return null;
  }
}

// prettyJSON re-indents JSON text, or returns null when it does not parse.
// It copies numbers and strings verbatim instead of printing what JSON.parse
// returned, because parsing would round integers beyond 2^53 (common in
// ids) and the console must show the bytes that were written.
function prettyJSON(text) {
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  let out = '';
  let depth = 0;
  const newline = () => `\n${'  '.repeat(depth)}`;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end - 1;
    } else if (c === '{' || c === '[') {
      const next = nextNonSpace(text, i + 1);
      if (text[next] === (c === '{' ? '}' : ']')) {
        out += c + text[next];
        i = next;
      } else {
        depth += 1;
        out += c + newline();
      }
    } else if (c === '}' || c === ']') {
      depth -= 1;
      out += newline() + c;
    } else if (c === ',') {
      out += `,${newline()}`;
    } else if (c === ':') {
      out += ': ';
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

// stringEnd returns the index just past the JSON string starting at `start`.
function stringEnd(text, start) {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function nextNonSpace(text, from) {
  let i = from;
  while (i < text.length && /\s/.test(text[i])) i += 1;
  return i;
}

// bytesView shows a base64 byte string in the chosen view: `text` (strict
// UTF-8, hex when the bytes are not UTF-8), `json` (pretty-printed when it
// parses, else as text) or `hex`. Null shows as a muted "null".
export function bytesView(b64, view) {
  if (b64 === null || b64 === undefined) return h('span', { class: 'null', text: 'null' });
  let bytes;
  try {
    bytes = decodeBase64(b64);
  } catch {
    return h('span', { class: 'bad', text: 'invalid base64' });
  }
  if (bytes.length === 0) return h('span', { class: 'null', text: 'empty' });
  if (view === 'hex') return h('pre', { class: 'bytes hex', text: hexBytes(bytes) });
  const text = utf8OrNull(bytes);
  if (text === null) {
    return h('pre', { class: 'bytes hex', title: 'not UTF-8: shown as hex', text: hexBytes(bytes) });
  }
  if (view === 'json') {
    const pretty = prettyJSON(text);
    if (pretty !== null) return h('pre', { class: 'bytes json', text: pretty });
  }
  return h('pre', { class: 'bytes', text });
}

export function headersView(headers, view) {
  if (!headers || headers.length === 0) return muted('none');
  return h('ul', { class: 'headers-list' }, headers.map((header) =>
    h('li', {}, h('span', { class: 'header-key', text: header.key }), bytesView(header.value, view))));
}
