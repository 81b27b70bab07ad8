/** The human-readable name of an ICC profile (its `desc` tag), e.g. "Adobe RGB (1998)". */
export function iccProfileName(profile: Uint8Array | undefined): string | undefined {
  if (!profile || profile.length < 132) return undefined;
  const view = new DataView(profile.buffer, profile.byteOffset, profile.byteLength);
  const count = view.getUint32(128);
  for (let i = 0; i < Math.min(count, 1000); i++) {
    const entry = 132 + i * 12;
    if (entry + 12 > profile.length) return undefined;
    if (ascii(profile, entry, 4) !== 'desc') continue;
    const offset = view.getUint32(entry + 4);
    const size = view.getUint32(entry + 8);
    if (offset + size > profile.length || size < 12) return undefined;
    const type = ascii(profile, offset, 4);
    if (type === 'desc') {
      // ICC v2 textDescriptionType: ASCII count (incl. NUL) then the string.
      const length = view.getUint32(offset + 8);
      return clean(ascii(profile, offset + 12, Math.min(length, size - 12)));
    }
    if (type === 'mluc') {
      // ICC v4 multiLocalizedUnicodeType: first record's UTF-16BE string.
      const records = view.getUint32(offset + 8);
      if (records < 1) return undefined;
      const length = view.getUint32(offset + 20);
      const start = offset + view.getUint32(offset + 24);
      if (start + length > profile.length) return undefined;
      return clean(new TextDecoder('utf-16be').decode(profile.subarray(start, start + length)));
    }
    return undefined;
  }
  return undefined;
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  return new TextDecoder('latin1').decode(bytes.subarray(start, start + length));
}

function clean(text: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  const value = text.replace(/\u0000.*$/s, '').trim();
  return value === '' ? undefined : value;
}
