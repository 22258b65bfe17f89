/**
 * What may be opened as text, and text as a <textarea> holds it. Files over MAX_EDIT_BYTES and
 * binary files (a NUL in their first KiB, the usual heuristic; the runtime refuses to read those
 * as text anyway, with reason `binary_file`) are offered for download instead of opened.
 *
 * A textarea's value always uses "\n" line ends: a file written with "\r\n" is edited with
 * "\n" and saved with "\r\n" again, so opening and saving never rewrites its line ends.
 */

export const MAX_EDIT_BYTES = 2 * 1024 * 1024;
const SNIFF = 1024;

/** A NUL among the first KiB (bytes, or characters of decoded text). */
export function looksBinary(sample: Uint8Array | string): boolean {
  if (typeof sample === 'string') return sample.slice(0, SNIFF).includes('\0');
  return sample.subarray(0, SNIFF).includes(0);
}

export function tooLargeToEdit(size: number | undefined): boolean {
  return size !== undefined && size > MAX_EDIT_BYTES;
}

export type Eol = 'lf' | 'crlf';

export interface EditorText {
  text: string;
  eol: Eol;
}

/** File content → textarea text and the line ends to restore ("\r\n" only if every line end is one). */
export function toEditor(content: string): EditorText {
  const crlf = content.split('\r\n').length - 1;
  const lf = content.split('\n').length - 1;
  const eol: Eol = crlf > 0 && crlf === lf ? 'crlf' : 'lf';
  return { text: eol === 'crlf' ? content.replace(/\r\n/g, '\n') : content, eol };
}

/** Textarea text → file content. */
export function fromEditor(text: string, eol: Eol): string {
  const lf = text.replace(/\r\n/g, '\n');
  return eol === 'crlf' ? lf.replace(/\n/g, '\r\n') : lf;
}

/** 1536 → "1.5 KiB". */
export function formatSize(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
