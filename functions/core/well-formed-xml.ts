/**
 * A fast reader for the LIDO mapping (functions/core/lido.ts): XML already known to be well-formed, read into the
 * very tree lido.ts's fast-xml-parser configuration builds, five to ten times faster. It exists because that parse
 * was the largest cost of a harvest (about 0.5 ms of a 12 KB record; this takes a tenth of that).
 *
 * It covers what records are made of (elements, attributes, text, comments, CDATA, processing instructions, the five
 * XML entities and character references) and gives up, returning undefined, on anything else: a DOCTYPE (its
 * entities), HTML entities, character references fast-xml-parser removes or leaves, deep nesting, names that are
 * Object.prototype keys. The caller then uses fast-xml-parser, so the result is always the same.
 * test/unit/well-formed-xml.test.ts compares the two on every fixture and on generated documents.
 *
 * The tree, as fast-xml-parser builds it with lido.ts's options (removeNSPrefix, trimValues false,
 * alwaysCreateTextNode, every element an array, attributes `@_` + lower-cased local name, unprocessed values):
 *  - line ends are normalised to \n first;
 *  - an element's keys are its child element names (canonical, in order of first appearance), then `#text`, then
 *    its attributes; `#text` is all its text segments and CDATA sections joined (whitespace between children
 *    included), or '' when it has neither children nor text, and absent when it has children but no text;
 *  - entities are resolved per text segment and attribute value; CDATA is taken as written;
 *  - a self-closing element's name goes through the name function twice (as fast-xml-parser does; harmless for
 *    lido.ts's canonicalTag, kept for identity).
 */
import type { XmlElement } from './lido.ts';

interface Frame {
  element: XmlElement;
  text: string | undefined;
  hasChildren: boolean;
  attributes: Record<string, string> | undefined;
}

/** fast-xml-parser refuses to nest deeper than 100; stay clear of its limit. */
const MAX_DEPTH = 90;
/** fast-xml-parser's entity decoder looks this far for the `;` of a reference. */
const MAX_REFERENCE = 32;
const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** fast-xml-parser's attribute scanner, exactly. */
const ATTRIBUTE = /([^\s=]+)\s*(=\s*(?:"([^"]*)"|'([^']*)'))?/g;

/** The document's tree, or undefined when it holds something this reader leaves to fast-xml-parser. */
export function readWellFormedXml(input: string, tagName: (name: string) => string): XmlElement | undefined {
  const xml = input.includes('\r') ? input.replace(/\r\n?/g, '\n') : input;
  // A record repeats a few dozen names hundreds of times: each goes through the name function once.
  const names = new Map<string, string>();
  const name = (raw: string): string => {
    let known = names.get(raw);
    if (known === undefined) names.set(raw, (known = tagName(raw)));
    return known;
  };
  const root: Frame = { element: {}, text: undefined, hasChildren: false, attributes: undefined };
  const stack: Frame[] = [root];
  // Raw text since the last markup other than a comment: comments do not split text in fast-xml-parser.
  let pending = '';
  let i = 0;
  const flush = (frame: Frame): boolean => {
    if (pending === '') return true;
    const text = decode(pending);
    pending = '';
    if (text === undefined) return false;
    frame.text = (frame.text ?? '') + text;
    return true;
  };
  for (;;) {
    const lt = xml.indexOf('<', i);
    if (lt < 0) break;
    pending += xml.slice(i, lt);
    const current = stack[stack.length - 1]!;
    const next = xml.charCodeAt(lt + 1);
    if (next === 47) {
      // End tag: the element is complete.
      const gt = xml.indexOf('>', lt);
      if (gt < 0 || stack.length === 1) return undefined;
      if (!flush(current)) return undefined;
      stack.pop();
      finish(current);
      i = gt + 1;
    } else if (next === 33) {
      if (xml.startsWith('!--', lt + 1)) {
        const end = xml.indexOf('-->', lt + 4);
        if (end < 0) return undefined;
        i = end + 3;
      } else if (xml.startsWith('![CDATA[', lt + 1)) {
        const end = xml.indexOf(']]>', lt + 9);
        if (end < 0 || !flush(current)) return undefined;
        current.text = (current.text ?? '') + xml.slice(lt + 9, end);
        i = end + 3;
      } else {
        return undefined; // DOCTYPE: its entities are fast-xml-parser's business
      }
    } else if (next === 63) {
      // Processing instruction or XML declaration: ignored, but it ends a text segment.
      const end = tagEnd(xml, lt + 1, true);
      if (end < 0 || !flush(current)) return undefined;
      i = end + 2;
    } else {
      const gt = tagEnd(xml, lt + 1, false);
      if (gt < 0) return undefined;
      // Text before the root element is dropped, as fast-xml-parser drops it.
      if (stack.length > 1) {
        if (!flush(current)) return undefined;
      } else {
        pending = '';
      }
      const opened = startTag(xml.slice(lt + 1, gt), name);
      if (!opened || stack.length > MAX_DEPTH) return undefined;
      const frame: Frame = { element: {}, text: undefined, hasChildren: false, attributes: opened.attributes };
      const siblings = current.element[opened.name];
      if (siblings === undefined) current.element[opened.name] = [frame.element];
      else (siblings as XmlElement[]).push(frame.element);
      current.hasChildren = true;
      if (opened.selfClosing) finish(frame);
      else stack.push(frame);
      i = gt + 1;
    }
  }
  if (stack.length !== 1) return undefined;
  if (root.text) root.element['#text'] = root.text;
  return root.element;
}

function finish(frame: Frame): void {
  const { element } = frame;
  if (frame.text) element['#text'] = frame.text;
  else if (!frame.hasChildren) element['#text'] = '';
  if (frame.attributes) Object.assign(element, frame.attributes);
}

/** Index of the `>` (or of the `?` of `?>`) closing a tag, skipping quoted values; -1 if none. */
function tagEnd(xml: string, from: number, instruction: boolean): number {
  for (let i = from; i < xml.length; i++) {
    const c = xml.charCodeAt(i);
    if (c === 34 || c === 39) {
      i = xml.indexOf(c === 34 ? '"' : "'", i + 1);
      if (i < 0) return -1;
    } else if (instruction ? c === 63 && xml.charCodeAt(i + 1) === 62 : c === 62) {
      return i;
    }
  }
  return -1;
}

/** A start tag's content (between `<` and `>`) as fast-xml-parser reads it; undefined to give up. */
function startTag(content: string, tagName: (name: string) => string): { name: string; attributes?: Record<string, string>; selfClosing: boolean } | undefined {
  const separator = content.search(/\s/);
  let raw = separator < 0 ? content : content.slice(0, separator);
  let rest = separator < 0 ? '' : content.slice(separator + 1).trimStart();
  const colon = raw.indexOf(':');
  if (colon >= 0) raw = raw.slice(colon + 1);
  let name: string;
  let selfClosing = false;
  if (separator < 0 && raw.endsWith('/')) {
    selfClosing = true;
    const named = tagName(raw);
    name = tagName(typeof named === 'string' && named.endsWith('/') ? named.slice(0, -1) : named);
  } else {
    if (rest.endsWith('/')) {
      selfClosing = true;
      rest = rest.slice(0, -1);
    }
    name = selfClosing ? tagName(tagName(raw)) : tagName(raw);
  }
  // Object.prototype's names would need fast-xml-parser's own handling (it refuses or renames them; the name function
  // may even answer with a prototype member).
  if (typeof name !== 'string' || name === '' || name in Object.prototype || name === 'prototype' || name.startsWith('#')) return undefined;
  if (rest === '') return { name, selfClosing };
  let attributes: Record<string, string> | undefined;
  ATTRIBUTE.lastIndex = 0;
  for (let match = ATTRIBUTE.exec(rest); match; match = ATTRIBUTE.exec(rest)) {
    const value = match[3] ?? match[4];
    const local = attributeName(match[1]!);
    if (value === undefined || local === '') continue;
    const decoded = decode(value);
    if (decoded === undefined) return undefined;
    (attributes ??= {})[`@_${local}`.toLowerCase()] = decoded;
  }
  return { name, selfClosing, ...(attributes ? { attributes } : {}) };
}

/** fast-xml-parser's removeNSPrefix for attributes: `xmlns`, `xmlns:x` dropped, `x:name` → `name`, `x:y:z` kept. */
function attributeName(name: string): string {
  const colon = name.indexOf(':');
  if (colon < 0) return name === 'xmlns' ? '' : name;
  if (name.slice(0, colon) === 'xmlns') return '';
  if (name.includes(':', colon + 1)) return name;
  return (name.charAt(0) === '/' ? '/' : '') + name.slice(colon + 1);
}

/** Entities and character references resolved; undefined for any this reader leaves to fast-xml-parser. */
function decode(raw: string): string | undefined {
  let amp = raw.indexOf('&');
  if (amp < 0) return raw;
  let out = '';
  let last = 0;
  while (amp >= 0) {
    const semicolon = raw.indexOf(';', amp + 1);
    if (semicolon < 0 || semicolon - amp > MAX_REFERENCE + 1) return undefined;
    const token = raw.slice(amp + 1, semicolon);
    let value: string | undefined;
    if (token.charCodeAt(0) === 35) {
      const code = /^#[0-9]+$/.test(token) ? Number(token.slice(1)) : /^#x[0-9a-fA-F]+$/.test(token) ? parseInt(token.slice(2), 16) : NaN;
      // Characters XML allows, bar what fast-xml-parser removes (NUL, C0 controls, surrogates) or leaves as written.
      const allowed = code === 9 || code === 10 || code === 13 || (code >= 0x20 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff));
      if (!allowed) return undefined;
      value = String.fromCodePoint(code);
    } else {
      value = Object.hasOwn(XML_ENTITIES, token) ? XML_ENTITIES[token] : undefined;
      if (value === undefined) return undefined;
    }
    out += raw.slice(last, amp) + value;
    last = semicolon + 1;
    amp = raw.indexOf('&', last);
  }
  return out + raw.slice(last);
}
