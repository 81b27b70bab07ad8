import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  accessFlagsFromMetadata,
  DEFAULT_ACCESS_SETTINGS,
  decideAccess,
  parseAccessSettings,
  sameAccess,
  type AccessDecision,
  type AccessInput,
  type AccessSettings,
} from '../../functions/core/access-policy.ts';
import { parseLidoDocument } from '../../functions/core/lido.ts';
import { emptyRecord, type Creator, type MappedRecord } from '../../functions/core/record.ts';
import { CC0, decideRights, IN_COPYRIGHT, parseRightsAuthority, PUBLIC_DOMAIN_MARK, type RightsDecision } from '../../functions/core/rights.ts';
import { ConfigError } from '../../functions/core/settings.ts';
import { DATAHUB_FIXTURES } from '../support/presentation-fixtures.ts';

const fixture = (path: string) => readFileSync(join(DATAHUB_FIXTURES, path), 'utf8');

// The real VKC authority files (CC0): the rights tests' excerpts plus three creators for the public-domain day
// (test/fixtures/datahub/README.md): Apol †1950 (public domain from 2021), Joostens and Peeters †1960 (from 2031).
const extraCreators = fixture('vkc-authority-files/Copyrights.access-policy.excerpt.csv').split(/\r?\n/).slice(1).join('\n');
const copyrightsCsv = `${fixture('vkc-authority-files/Copyrights.excerpt.csv').replace(/\s*$/, '')}\n${extraCreators}`;
const authority = parseRightsAuthority(fixture('vkc-authority-files/RIGHTS.excerpt.csv'), copyrightsCsv);

const record = (fields: Partial<MappedRecord> = {}): MappedRecord => ({ ...emptyRecord('oai:test:1'), ...fields });
const creator = (name: string): Creator => ({ name, altNames: [], uris: [] });
const recordOf = (path: string): MappedRecord => parseLidoDocument(fixture(path)).records[0]!.record;

const at = (iso: string) => new Date(iso);
const NOW = at('2026-06-01T12:00:00Z');
const S = DEFAULT_ACCESS_SETTINGS;
const decide = (input: Partial<AccessInput>, settings: AccessSettings = S, now: Date = NOW): AccessDecision => decideAccess({ flags: {}, ...input }, settings, now);
const given = (uri: string): RightsDecision => ({ uri, source: 'record-uri', reasoning: `work rights URI ${uri}` });

const apol = record({ creators: [creator('Apol, Armand')] });
const peeters = record({ creators: [creator('Peeters, Jozef')] });

describe('accessFlagsFromMetadata', () => {
  it('reads access, cleared-for-public-use and in-copyright, in any case', () => {
    expect(accessFlagsFromMetadata({})).toEqual({ flags: {}, problems: [] });
    expect(accessFlagsFromMetadata({ access: 'open', 'cleared-for-public-use': 'yes', 'in-copyright': 'no' })).toEqual({
      flags: { access: 'open', clearedForPublicUse: true, inCopyright: false },
      problems: [],
    });
    expect(accessFlagsFromMetadata({ Access: 'Restricted-Size' }).flags).toEqual({ access: 'restricted-size' });
    expect(accessFlagsFromMetadata({ access: 'RESTRICTED' }).flags).toEqual({ access: 'restricted-size' });
    expect(accessFlagsFromMetadata({ access: ' private ' }).flags).toEqual({ access: 'private' });
    for (const [value, expected] of [['yes', true], ['TRUE', true], ['1', true], ['No', false], ['false', false], ['0', false]] as const) {
      expect(accessFlagsFromMetadata({ 'cleared-for-public-use': value, 'in-copyright': value }).flags).toEqual({ clearedForPublicUse: expected, inCopyright: expected });
    }
    // Empty values are not set.
    expect(accessFlagsFromMetadata({ access: '', 'in-copyright': ' ' })).toEqual({ flags: {}, problems: [] });
  });

  it("reads the predecessor's ResourceSpace fields as it did", () => {
    expect(accessFlagsFromMetadata({ clearedforusage: 'Public use' }).flags).toEqual({ clearedForPublicUse: true });
    expect(accessFlagsFromMetadata({ clearedforusage: ',Public use' }).flags).toEqual({ clearedForPublicUse: true });
    // The predecessor: anything without "Public use" is private.
    expect(accessFlagsFromMetadata({ clearedforusage: 'Internal use' })).toEqual({ flags: { clearedForPublicUse: false }, problems: [] });
    expect(accessFlagsFromMetadata({ incopyright: ',Yes' }).flags).toEqual({ inCopyright: true });
    expect(accessFlagsFromMetadata({ incopyright: 'no', 'in-copyright': 'no' })).toEqual({ flags: { inCopyright: false }, problems: [] });
  });

  it('turns every value it does not understand into a problem, and no flag', () => {
    const { flags, problems } = accessFlagsFromMetadata({ access: 'public', 'cleared-for-public-use': 'y', 'in-copyright': 'maybe', incopyright: 'perhaps' });
    expect(flags).toEqual({});
    expect(problems).toEqual([
      'access "public" is not one of open, restricted-size (or restricted), private',
      'cleared-for-public-use "y" is not yes or no',
      'in-copyright "maybe" is not yes or no',
      'incopyright "perhaps" is not yes or no',
    ]);
    expect(accessFlagsFromMetadata({ 'cleared-for-public-use': 'yes', clearedforusage: 'Internal use' })).toEqual({
      flags: {},
      problems: ['cleared-for-public-use "yes" and clearedforusage "Internal use" disagree'],
    });
  });
});

describe('decideRights: publicDomainYear', () => {
  it('is the latest year of all creators, whatever step decided the URI', () => {
    expect(decideRights(apol, authority, 2026)).toMatchObject({ uri: PUBLIC_DOMAIN_MARK, source: 'authority-public-domain', publicDomainYear: 2021 });
    expect(decideRights(peeters, authority, 2026)).toMatchObject({ uri: IN_COPYRIGHT, source: 'authority-rights', publicDomainYear: 2031 });
    expect(decideRights(record({ creators: [creator('Apol, Armand'), creator('Joostens, Paul')] }), authority, 2026).publicDomainYear).toBe(2031);
    // Decided by the credit line, dated by Copyrights.csv.
    expect(decideRights(record({ creators: [creator('Peeters, Jozef')], rights: { creditLine: 'CC0', statements: [], metadata: [] } }), authority, 2026)).toMatchObject({
      uri: CC0,
      source: 'credit-line',
      publicDomainYear: 2031,
    });
  });

  it('is absent when any creator is unknown or has no year', () => {
    expect(decideRights(record({ creators: [creator('Apol, Armand'), creator('Simone Martini')] }), authority, 2026)).not.toHaveProperty('publicDomainYear');
    // Alechinsky: "Auteursrechtplichtig / © SABAM" without a year.
    expect(decideRights(record({ creators: [creator('Alechinsky, Pierre')] }), authority, 2026)).not.toHaveProperty('publicDomainYear');
    expect(decideRights(record(), authority, 2026)).not.toHaveProperty('publicDomainYear');
  });

  it('keeps a stale "© SABAM" credit line as InC, says it is out of date, and gives the year', () => {
    const stale = record({ creators: [creator('Apol, Armand')], rights: { creditLine: '© SABAM Belgium 2021', statements: [], metadata: [] } });
    expect(decideRights(stale, authority, 2026)).toEqual({
      uri: IN_COPYRIGHT,
      source: 'credit-line',
      publicDomainYear: 2021,
      reasoning: 'credit line "© SABAM Belgium 2021" recognised as SABAM (but Copyrights.csv has every creator public domain since 2021, so the claim is out of date)',
    });
  });
});

describe('decideAccess: the public-domain day (Apol †1950, Peeters †1960)', () => {
  it('at 2026 the work of a creator who died in 1950 is open, of one who died in 1960 restricted until 1 January 2031', () => {
    expect(decide({ rights: decideRights(apol, authority, 2026) })).toEqual({
      policy: 'open',
      basis: 'record-rights',
      rights: PUBLIC_DOMAIN_MARK,
      reason: 'Public domain since 1 January 2021: shown in full.',
      reasonNl: 'Publiek domein sinds 1 januari 2021: volledig getoond.',
    });
    expect(decide({ rights: decideRights(peeters, authority, 2026) })).toEqual({
      policy: 'restricted-size',
      maxLongSide: 800,
      basis: 'record-rights',
      rights: IN_COPYRIGHT,
      changesOn: '2031-01-01',
      reason: 'In copyright until 31 December 2030: shown up to 800 pixels.',
      reasonNl: 'Auteursrechtelijk beschermd tot en met 31 december 2030: getoond tot 800 pixels.',
    });
  });

  it('opens on 1 January 2031 (UTC) with the decision made in 2026, without anyone editing the record', () => {
    const rights = decideRights(peeters, authority, 2026);
    const before = decide({ rights }, S, at('2030-12-31T23:59:00Z'));
    const after = decide({ rights }, S, at('2031-01-01T00:00:00Z'));
    expect(before).toMatchObject({ policy: 'restricted-size', changesOn: '2031-01-01' });
    expect(after).toEqual({
      policy: 'open',
      basis: 'record-rights',
      rights: PUBLIC_DOMAIN_MARK,
      reason: 'Public domain since 1 January 2031: shown in full.',
      reasonNl: 'Publiek domein sinds 1 januari 2031: volledig getoond.',
    });
    expect(sameAccess(before, after)).toBe(false);
    // UTC counts: 23:30 on 31 December at UTC-1 is already 2031.
    expect(decide({ rights }, S, at('2030-12-31T23:30:00-01:00')).policy).toBe('open');
    // Re-deciding the rights that day agrees.
    expect(decide({ rights: decideRights(peeters, authority, 2031) }, S, at('2031-01-01T00:00:00Z'))).toEqual(after);
  });

  it('waits for the last creator (Apol and Joostens: 2031)', () => {
    const both = record({ creators: [creator('Apol, Armand'), creator('Joostens, Paul')] });
    expect(decide({ rights: decideRights(both, authority, 2026) })).toMatchObject({ policy: 'restricted-size', changesOn: '2031-01-01' });
  });
});

describe('decideAccess: record rights', () => {
  it('CC0: the KMSKA 257 record (image rights conceptID CC0) is open', () => {
    const rights = decideRights(recordOf('vkc-imagehub-fixes/MulLido1Image__DESTINATION-oai_datahub.vlaamsekunstcollectie.be_kmska.be_257.xml'), authority, 2026);
    expect(rights.uri).toBe(CC0);
    expect(decide({ rights, institution: 'kmska.be' })).toEqual({
      policy: 'open',
      basis: 'record-rights',
      rights: CC0,
      reason: 'Public domain (CC0): shown in full.',
      reasonNl: 'Publiek domein (CC0): volledig getoond.',
    });
  });

  it('SABAM: the RIGHTS.csv row of MSK Gent 1899-M ("© SABAM BELGIUM 2011") restricts, with no end date it knows', () => {
    const rights = decideRights(record({ dataPid: 'http://mskgent.be/collection/work/data/1899-M' }), authority, 2026);
    expect(decide({ rights })).toEqual({
      policy: 'restricted-size',
      maxLongSide: 800,
      basis: 'record-rights',
      rights: IN_COPYRIGHT,
      reason: 'In copyright (© SABAM): shown up to 800 pixels.',
      reasonNl: 'Auteursrechtelijk beschermd (© SABAM): getoond tot 800 pixels.',
    });
  });

  it('SABAM with a creator Copyrights.csv dates (1899-M row, creator Peeters: a made-up pairing of two real rows)', () => {
    const rights = decideRights(record({ dataPid: 'http://mskgent.be/collection/work/data/1899-M', creators: [creator('Peeters, Jozef')] }), authority, 2026);
    expect(decide({ rights })).toMatchObject({
      policy: 'restricted-size',
      changesOn: '2031-01-01',
      reason: 'In copyright (© SABAM) until 31 December 2030: shown up to 800 pixels.',
      reasonNl: 'Auteursrechtelijk beschermd (© SABAM) tot en met 31 december 2030: getoond tot 800 pixels.',
    });
  });

  it('a stale "© SABAM" on a work whose creators are all public domain opens under the Public Domain Mark', () => {
    const stale = record({ creators: [creator('Apol, Armand')], rights: { creditLine: '© SABAM Belgium 2021', statements: [], metadata: [] } });
    expect(decide({ rights: decideRights(stale, authority, 2026) })).toMatchObject({ policy: 'open', rights: PUBLIC_DOMAIN_MARK, reason: 'Public domain since 1 January 2021: shown in full.' });
  });

  it('reads the whole InC family as restricted, CC licences and NoC as open, CNE/UND/NKC and no URI as silent', () => {
    for (const id of ['InC', 'InC-EDU', 'InC-NC', 'InC-OW-EU', 'InC-RUU']) {
      expect(decide({ rights: given(`http://rightsstatements.org/vocab/${id}/1.0/`) }), id).toMatchObject({ policy: 'restricted-size', basis: 'record-rights' });
    }
    expect(decide({ rights: given('http://creativecommons.org/licenses/by-sa/4.0/') })).toMatchObject({
      policy: 'open',
      reason: 'Creative Commons licence CC BY-SA 4.0: shown in full.',
      reasonNl: 'Creative Commons-licentie CC BY-SA 4.0: volledig getoond.',
    });
    expect(decide({ rights: given('http://rightsstatements.org/vocab/NoC-NC/1.0/') })).toMatchObject({ policy: 'open', reason: 'No copyright: shown in full.' });
    expect(decide({ rights: given(PUBLIC_DOMAIN_MARK) })).toMatchObject({ policy: 'open', reason: 'Public domain: shown in full.' });
    const restrictive: AccessSettings = { ...S, defaultPolicy: 'restricted-size' };
    for (const id of ['CNE', 'UND', 'NKC']) {
      const uri = `http://rightsstatements.org/vocab/${id}/1.0/`;
      expect(decide({ rights: given(uri) }, restrictive), id).toMatchObject({ policy: 'restricted-size', basis: 'default', rights: uri });
    }
    expect(decide({ rights: { source: 'none', reasoning: 'nothing' } }, restrictive)).toMatchObject({ policy: 'restricted-size', basis: 'default' });
    expect(decide({ rights: { source: 'none', reasoning: 'nothing' } }, restrictive)).not.toHaveProperty('rights');
  });
});

describe('decideAccess: flags, defaults and the moot restriction', () => {
  const inCopyright = decideRights(peeters, authority, 2026);
  const cc0 = given(CC0);

  it('in-copyright: no opens a work the record says is in copyright, and says so', () => {
    expect(decide({ flags: { inCopyright: false }, rights: inCopyright })).toEqual({
      policy: 'open',
      basis: 'image-flag',
      reason: 'Free of copyright according to the owner, although the record says it is in copyright: shown in full.',
      reasonNl: 'Volgens de eigenaar vrij van auteursrecht, hoewel het record zegt dat het auteursrechtelijk beschermd is: volledig getoond.',
    });
    expect(decide({ flags: { inCopyright: false }, rights: cc0 })).toMatchObject({ policy: 'open', rights: CC0, reason: 'Free of copyright according to the owner: shown in full.' });
  });

  it('in-copyright: yes restricts a work the record says is CC0, and says so', () => {
    expect(decide({ flags: { inCopyright: true }, rights: cc0 })).toEqual({
      policy: 'restricted-size',
      maxLongSide: 800,
      basis: 'image-flag',
      rights: IN_COPYRIGHT,
      reason: 'In copyright according to the owner, although the record says it is free to use: shown up to 800 pixels.',
      reasonNl: 'Volgens de eigenaar auteursrechtelijk beschermd, hoewel het record zegt dat het vrij te gebruiken is: getoond tot 800 pixels.',
    });
    // The owner's flag has no end date of its own.
    expect(decide({ flags: { inCopyright: true }, rights: inCopyright })).not.toHaveProperty('changesOn');
  });

  it('an explicit access flag beats the record and the in-copyright flag', () => {
    expect(decide({ flags: { access: 'open', inCopyright: true }, rights: inCopyright })).toMatchObject({
      policy: 'open',
      basis: 'image-flag',
      rights: IN_COPYRIGHT,
      reason: "Open at the owner's request, although the record says it is in copyright: shown in full.",
    });
    expect(decide({ flags: { access: 'restricted-size' }, rights: cc0 })).toMatchObject({
      policy: 'restricted-size',
      basis: 'image-flag',
      reason: "Limited at the owner's request, although the record says it is free to use: shown up to 800 pixels.",
    });
    expect(decide({ flags: { access: 'private' }, rights: cc0 })).toMatchObject({ policy: 'private', basis: 'image-flag', reason: 'Kept private by the owner.' });
  });

  it('private wins over everything', () => {
    expect(decide({ flags: { clearedForPublicUse: false }, rights: cc0 })).toEqual({
      policy: 'private',
      basis: 'image-flag',
      rights: CC0,
      reason: 'Not cleared for public use.',
      reasonNl: 'Niet vrijgegeven voor publiek gebruik.',
    });
    expect(decide({ flags: { clearedForPublicUse: false, access: 'open', inCopyright: false }, rights: cc0, width: 100, height: 100 })).toMatchObject({
      policy: 'private',
      reason: 'Not cleared for public use, although its access is set to open.',
      reasonNl: 'Niet vrijgegeven voor publiek gebruik, hoewel de toegang op open staat.',
    });
    // Cleared alone decides nothing: the record does.
    expect(decide({ flags: { clearedForPublicUse: true }, rights: inCopyright })).toMatchObject({ policy: 'restricted-size', basis: 'record-rights' });
  });

  it('the institution default, else the global default, when neither flags nor rights decide', () => {
    const settings: AccessSettings = { maxLongSide: 800, defaultPolicy: 'private', institutionDefaults: { 'mskgent.be': 'restricted-size', 'kmska.be': 'open' } };
    const martini = decideRights(recordOf('vkc-imagehub-fixes/MulLido1Image__ORIGIN-oai_datahub.vlaamsekunstcollectie.be_kmska.be_257-260.xml'), authority, 2026);
    expect(martini.source).toBe('none');
    expect(decide({ rights: martini, institution: 'kmska.be' }, settings)).toEqual({
      policy: 'open',
      basis: 'institution-default',
      reason: 'No rights restriction is recorded: shown in full.',
      reasonNl: 'Er is geen beperking van rechten geregistreerd: volledig getoond.',
    });
    expect(decide({ institution: 'MSKGent.be' }, settings)).toMatchObject({
      policy: 'restricted-size',
      basis: 'institution-default',
      reason: 'Rights not cleared yet: shown up to 800 pixels.',
      reasonNl: 'Rechten nog niet uitgeklaard: getoond tot 800 pixels.',
    });
    expect(decide({ institution: 'groeningemuseum.be' }, settings)).toMatchObject({ policy: 'private', basis: 'default', reason: 'Not cleared for public use.' });
    expect(decide({}, settings)).toMatchObject({ policy: 'private', basis: 'default' });
    expect(decide({})).toMatchObject({ policy: 'open', basis: 'default' });
    // Record rights come before either default.
    expect(decide({ rights: cc0, institution: 'mskgent.be' }, settings)).toMatchObject({ policy: 'open', basis: 'record-rights' });
  });

  it('a restriction larger than the image is none: open, saying the image is already small enough', () => {
    expect(decide({ rights: inCopyright, width: 800, height: 600 })).toEqual({
      policy: 'open',
      basis: 'record-rights',
      rights: IN_COPYRIGHT,
      changesOn: '2031-01-01',
      reason: 'In copyright until 31 December 2030, but this image is already no larger than 800 pixels: shown in full.',
      reasonNl: 'Auteursrechtelijk beschermd tot en met 31 december 2030, maar deze afbeelding is al niet groter dan 800 pixels: volledig getoond.',
    });
    expect(decide({ rights: inCopyright, width: 600, height: 801 })).toMatchObject({ policy: 'restricted-size', maxLongSide: 800 });
    expect(decide({ flags: { inCopyright: true }, width: 500, height: 500 })).toMatchObject({ policy: 'open', basis: 'image-flag' });
    expect(decide({ width: 1000, height: 700 }, { ...S, defaultPolicy: 'restricted-size', maxLongSide: 1200 })).toMatchObject({ policy: 'open', basis: 'default' });
    expect(decide({ width: 1300, height: 700 }, { ...S, defaultPolicy: 'restricted-size', maxLongSide: 1200 })).toMatchObject({ policy: 'restricted-size', maxLongSide: 1200 });
    // Without dimensions, the restriction stands.
    expect(decide({ rights: inCopyright, width: 100 })).toMatchObject({ policy: 'restricted-size' });
  });
});

describe('parseAccessSettings', () => {
  it('defaults to 800 pixels, open, no institutions', () => {
    expect(parseAccessSettings({})).toEqual(DEFAULT_ACCESS_SETTINGS);
    expect(parseAccessSettings({ IMAGEHUB_ACCESS_MAX_LONG_SIDE: '', IMAGEHUB_ACCESS_DEFAULT: ' ', IMAGEHUB_ACCESS_INSTITUTIONS: '' })).toEqual(DEFAULT_ACCESS_SETTINGS);
  });

  it('reads the limit, the default and the institutions', () => {
    expect(
      parseAccessSettings({
        IMAGEHUB_ACCESS_MAX_LONG_SIDE: '1200',
        IMAGEHUB_ACCESS_DEFAULT: 'restricted',
        IMAGEHUB_ACCESS_INSTITUTIONS: ' mskgent.be = restricted-size , KMSKA.be=open,',
      }),
    ).toEqual({ maxLongSide: 1200, defaultPolicy: 'restricted-size', institutionDefaults: { 'mskgent.be': 'restricted-size', 'kmska.be': 'open' } });
    expect(parseAccessSettings({ IMAGEHUB_ACCESS_MAX_LONG_SIDE: '16' }).maxLongSide).toBe(16);
    expect(parseAccessSettings({ IMAGEHUB_ACCESS_MAX_LONG_SIDE: '100000' }).maxLongSide).toBe(100_000);
  });

  it('throws a ConfigError naming every problem', () => {
    const attempt = () =>
      parseAccessSettings({
        IMAGEHUB_ACCESS_MAX_LONG_SIDE: '800px',
        IMAGEHUB_ACCESS_DEFAULT: 'public',
        IMAGEHUB_ACCESS_INSTITUTIONS: 'mskgent.be,kmska.be=free,x.be=open,x.be=private',
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      'invalid configuration: IMAGEHUB_ACCESS_MAX_LONG_SIDE must be an integer between 16 and 100000, got "800px"; ' +
        'IMAGEHUB_ACCESS_DEFAULT must be open, restricted-size or private, got "public"; ' +
        'IMAGEHUB_ACCESS_INSTITUTIONS entry "mskgent.be" must be institution=open|restricted-size|private; ' +
        'IMAGEHUB_ACCESS_INSTITUTIONS entry "kmska.be=free" must be institution=open|restricted-size|private; ' +
        'IMAGEHUB_ACCESS_INSTITUTIONS gives x.be both open and private',
    );
    for (const bad of ['15', '100001', '8e2', '-800', '800.5']) {
      expect(() => parseAccessSettings({ IMAGEHUB_ACCESS_MAX_LONG_SIDE: bad }), bad).toThrow(/IMAGEHUB_ACCESS_MAX_LONG_SIDE must be an integer between 16 and 100000/);
    }
  });
});

describe('sameAccess', () => {
  const restricted = (maxLongSide: number, reason = 'r'): AccessDecision => ({ policy: 'restricted-size', maxLongSide, basis: 'default', reason, reasonNl: reason });
  const open: AccessDecision = { policy: 'open', basis: 'record-rights', reason: 'a', reasonNl: 'a' };
  const privately: AccessDecision = { policy: 'private', basis: 'image-flag', reason: 'b', reasonNl: 'b' };

  it('compares what gets published: policy and limit, absent counting as open, reasons ignored', () => {
    expect(sameAccess(undefined, undefined)).toBe(true);
    expect(sameAccess(undefined, open)).toBe(true);
    expect(sameAccess(open, { ...open, basis: 'default', reason: 'other', rights: CC0 })).toBe(true);
    expect(sameAccess(restricted(800, 'one'), restricted(800, 'two'))).toBe(true);
    expect(sameAccess(restricted(800), restricted(1200))).toBe(false);
    expect(sameAccess(undefined, restricted(800))).toBe(false);
    expect(sameAccess(open, privately)).toBe(false);
    expect(sameAccess(privately, { ...privately, reason: 'c' })).toBe(true);
  });
});
