/**
 * The fast reader of functions/core/well-formed-xml.ts must build exactly fast-xml-parser's tree (lido.ts's options),
 * keys in the same order, or give up: on every fixture, on the corners of its subset, and on generated documents.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parseLidoDocument, xmlTrees } from '../../functions/core/lido.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE_DIRS = [resolve(HERE, '../fixtures/datahub'), resolve(HERE, '../../../shared/fixtures/datahub')].filter((dir) => existsSync(dir));

function allXml(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? allXml(path) : name.endsWith('.xml') ? [path] : [];
  });
}

/** True when the reader read it; then its tree is fast-xml-parser's, serialised the same (so in the same key order). */
function readsAsFastXmlParser(xml: string): boolean {
  const fast = xmlTrees.fastReader(xml);
  if (fast === undefined) return false;
  expect(JSON.stringify(fast)).toBe(JSON.stringify(xmlTrees.fastXmlParser(xml)));
  return true;
}

describe('the fast reader of well-formed XML', () => {
  it('reads every well-formed fixture document and record as fast-xml-parser does', () => {
    let read = 0;
    for (const file of FIXTURE_DIRS.flatMap(allXml)) {
      const xml = readFileSync(file, 'utf8');
      const pieces = [...(XMLValidator.validate(xml) === true ? [xml] : []), ...parseLidoDocument(xml).records.flatMap((entry) => (entry.xml ? [entry.xml] : []))];
      for (const piece of pieces) if (readsAsFastXmlParser(piece)) read++;
    }
    expect(read).toBeGreaterThan(20);
  });

  it('reads the VKC records itself (they are what a harvest is made of)', () => {
    for (const file of FIXTURE_DIRS.flatMap(allXml).filter((f) => /ORIGIN|oai-pmh-reconstructed/.test(f))) {
      for (const entry of parseLidoDocument(readFileSync(file, 'utf8')).records) {
        if (entry.xml) expect(readsAsFastXmlParser(entry.xml), file).toBe(true);
      }
    }
  });

  it.each([
    ['CDATA, empty CDATA, CDATA next to text', '<lido><a><![CDATA[x < y & z]]></a><b>t <![CDATA[]]> u</b><c><![CDATA[]]></c><d><e/><![CDATA[]]></d></lido>'],
    ['comments inside and between text', '<lido><a>x<!-- c -->y<b/>z<!-- -- > --></a><!-- c --><c><!-- only --></c></lido>'],
    ['the XML entities and character references', '<lido><a t="a&amp;b &#233; &#x1F600; &lt;x&gt;">&lt;&gt;&amp;&quot;&apos; &#13;&#10;&#9; &#38;amp; &#xE9;&#x7F;&#160;</a></lido>'],
    ['line ends', '<lido>\r\n<a x="1\r\n2">x\r\ny\rz</a>\r</lido>'],
    ['self-closing forms', '<lido xmlns:ns="u"><a/><a /><ns:a/><ns:b x="1"/><c x=\'1\' /><d\n/></lido>'],
    ['attributes', '<lido xmlns="u" xmlns:l="v"><a xml:lang="nl" l:type="T" Label="L" x="1" y=\'say "hi"\' z="a>b" w="" t="\ta\tb\n"\tu="v"/></lido>'],
    ['misspelt and capitalised names', '<l:Lido xmlns:l="u"><l:appelationValue>a</l:appelationValue><ObjectMeasurmentsWrap><l:meausurementType/><measurmentType/></ObjectMeasurmentsWrap></l:Lido>'],
    ['whitespace and mixed content', '<lido>\n  <a>\n    <b> x </b>\n    text\n    <b/>\n  </a>\n  <c>   </c>\n</lido>'],
    ['declaration, BOM, processing instructions, text outside the root', '\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- before -->\n<lido><?pi a="?>"?>x<?pi?>y</lido>\n<!-- after -->\n'],
    ['nested elements of one name', '<lido><a><a><a>deep</a></a><a/></a><b/><a>again</a></lido>'],
    ['values that look like numbers or booleans', '<lido><a n="007">0012</a><b>true</b><c> 1e3 </c></lido>'],
  ])('%s', (_name, xml) => {
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(readsAsFastXmlParser(xml)).toBe(true);
  });

  it.each([
    ['a DOCTYPE', '<!DOCTYPE lido [<!ENTITY e "x">]><lido>&e;</lido>'],
    ['HTML entities', '<lido>&nbsp;&eacute;</lido>'],
    ['character references fast-xml-parser removes', '<lido>a&#0;b&#1;c</lido>'],
    ['surrogate references', '<lido t="&#xD800;"/>'],
    ['Object.prototype names', '<lido><constructor/></lido>'],
    ['renamed names', '<lido><ToString/></lido>'],
    ['deep nesting', `<lido>${'<a>'.repeat(95)}${'</a>'.repeat(95)}</lido>`],
  ])('leaves %s to fast-xml-parser', (_name, xml) => {
    expect(xmlTrees.fastReader(xml)).toBeUndefined();
  });

  it('reads generated documents as fast-xml-parser does', () => {
    let seed = 20261124;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;
    const names = ['lido', 'lido:term', 'Term', 'appelationValue', 'objectMeasurmentsWrap', 'x:y', 'a', 'b-c', 'd.e', 'f_g'];
    const texts = ['', ' ', '\n  ', 'word', ' two words ', 'a &amp; b', '&lt;tag&gt;', '&#233;t&#xE9;', '&quot;&apos;', 'x\r\ny', '\t', ']]', '0', 'true'];
    const attributeValues = ['', 'v', ' spaced ', 'a&amp;b', '&#13;', 'x>y', "it's"];
    const attributeNames = ['type', 'xml:lang', 'lido:pref', 'Label', 'xmlns:q', 'sortorder'];
    const element = (depth: number): string => {
      const name = pick(names);
      const attributes = Array.from({ length: Math.floor(random() * 3) }, () => {
        const value = pick(attributeValues);
        return ` ${pick(attributeNames)}=${value.includes("'") ? `"${value}"` : pick([`"${value}"`, `'${value}'`])}`;
      });
      const unique = [...new Map(attributes.map((a) => [a.split('=')[0], a])).values()].join(pick([' ', '\n', '\t', '']) || ' ');
      if (depth > 4 || random() < 0.2) return `<${name}${unique}${pick(['/', ' /'])}>`;
      const content = Array.from({ length: Math.floor(random() * 5) }, () => {
        const r = random();
        if (r < 0.45) return element(depth + 1);
        if (r < 0.8) return pick(texts);
        if (r < 0.9) return `<![CDATA[${pick(['', 'a<b', ' & '])}]]>`;
        return `<!--${pick(['', ' c ', '-x-'])}-->`;
      }).join('');
      return `<${name}${unique}>${content}</${name}>`;
    };
    let read = 0;
    for (let i = 0; i < 500; i++) {
      const xml = `${pick(['', '<?xml version="1.0"?>\n'])}<root xmlns:lido="u" xmlns:x="v">${element(0)}${pick(texts)}${element(0)}</root>`;
      if (XMLValidator.validate(xml) !== true) continue;
      expect(readsAsFastXmlParser(xml), xml).toBe(true);
      read++;
    }
    expect(read).toBeGreaterThan(400);
  });
});
