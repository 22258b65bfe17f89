import { describe, expect, it } from 'vitest';
import { formatSize, fromEditor, looksBinary, toEditor, tooLargeToEdit, MAX_EDIT_BYTES } from './text.js';

describe('binary detection', () => {
  it('a NUL in the first KiB makes a file binary', () => {
    expect(looksBinary(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1]))).toBe(true);
    expect(looksBinary(new TextEncoder().encode('plain text\n'))).toBe(false);
    expect(looksBinary('text\0more')).toBe(true);
    expect(looksBinary('ünïcödé')).toBe(false);
  });

  it('only the first KiB is sniffed', () => {
    const late = new Uint8Array(2048).fill(0x61);
    late[1500] = 0;
    expect(looksBinary(late)).toBe(false);
    expect(looksBinary('a'.repeat(1023) + '\0')).toBe(true);
  });

  it('files over 2 MiB are not opened as text', () => {
    expect(tooLargeToEdit(MAX_EDIT_BYTES)).toBe(false);
    expect(tooLargeToEdit(MAX_EDIT_BYTES + 1)).toBe(true);
    expect(tooLargeToEdit(undefined)).toBe(false);
  });
});

describe('line ends in the editor', () => {
  it('keeps CRLF files CRLF', () => {
    const e = toEditor('a\r\nb\r\n');
    expect(e).toEqual({ text: 'a\nb\n', eol: 'crlf' });
    expect(fromEditor(e.text + 'c\n', e.eol)).toBe('a\r\nb\r\nc\r\n');
  });

  it('keeps LF files and mixed files LF', () => {
    expect(toEditor('a\nb')).toEqual({ text: 'a\nb', eol: 'lf' });
    expect(toEditor('a\r\nb\n').eol).toBe('lf');
    expect(fromEditor('x\r\ny', 'lf')).toBe('x\ny');
  });
});

describe('sizes', () => {
  it('formats bytes', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatSize(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(formatSize(300 * 1024 * 1024)).toBe('300 MiB');
    expect(formatSize(undefined)).toBe('');
  });
});
