/**
 * One opened file. Text files up to 2 MiB open in a monospace <textarea>; larger files and
 * binary ones (the runtime refuses them as text, or a NUL shows in the first KiB) are offered
 * for download instead. Unsaved changes are shown, kept when a save fails (the API's message is
 * shown beside them), confirmed before closing, and guarded on page unload. Ctrl/Cmd+S saves.
 * A symlink is edited at its target; the file keeps its permissions and line ends.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { isBinaryRefusal, readText, statPath, writeText } from '../api/files.js';
import { useConfirm } from '../components/confirm.js';
import { ErrorBox, Loading } from '../components/status.js';
import { useAsync } from '../components/use-async.js';
import { formatSize, fromEditor, looksBinary, toEditor, tooLargeToEdit, type Eol } from './text.js';
import { downloadFile, realPath } from './transfer.js';

type Loaded =
  | { kind: 'text'; real: string; text: string; eol: Eol; mode?: string }
  | { kind: 'binary' }
  | { kind: 'large'; size: number };

async function loadForEdit(ws: string, path: string, signal: AbortSignal): Promise<Loaded> {
  const real = await realPath(ws, path);
  const st = await statPath(ws, real, signal);
  if (tooLargeToEdit(st.size)) return { kind: 'large', size: st.size ?? 0 };
  try {
    const { content } = await readText(ws, real, signal);
    if (looksBinary(content)) return { kind: 'binary' };
    return { kind: 'text', real, ...toEditor(content), mode: st.permissions };
  } catch (err) {
    if (isBinaryRefusal(err)) return { kind: 'binary' };
    throw err;
  }
}

export function FileView(props: { ws: string; path: string; onClose: () => void }) {
  const file = useAsync((signal) => loadForEdit(props.ws, props.path, signal), [props.ws, props.path]);
  if (!file.data) {
    return (
      <section class="file-view">
        <FileHead path={props.path} onClose={props.onClose} />
        {file.error ? <ErrorBox error={file.error} retry={file.reload} /> : <Loading label="Opening the file…" />}
      </section>
    );
  }
  if (file.data.kind !== 'text') return <NotText ws={props.ws} path={props.path} loaded={file.data} onClose={props.onClose} />;
  return <TextEditor ws={props.ws} path={props.path} loaded={file.data} onClose={props.onClose} />;
}

function FileHead(props: { path: string; onClose: () => void; children?: ComponentChildren }) {
  return (
    <div class="file-head">
      <h2 class="mono">{props.path}</h2>
      <div class="row">
        {props.children}
        <button type="button" class="secondary" onClick={props.onClose}>Close</button>
      </div>
    </div>
  );
}

function DownloadButton(props: { ws: string; path: string; primary?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await downloadFile(props.ws, props.path);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" class={props.primary ? undefined : 'secondary'} onClick={run} disabled={busy}>
        {busy ? 'Downloading…' : 'Download'}
      </button>
      {error ? <ErrorBox error={error} /> : null}
    </>
  );
}

function NotText(props: { ws: string; path: string; loaded: Exclude<Loaded, { kind: 'text' }>; onClose: () => void }) {
  const why = props.loaded.kind === 'binary'
    ? 'This is a binary file: it is not opened as text.'
    : `This file is ${formatSize(props.loaded.size)}: files over 2 MiB are not opened as text.`;
  return (
    <section class="file-view">
      <FileHead path={props.path} onClose={props.onClose} />
      <div class="card not-text">
        <p>{why}</p>
        <DownloadButton ws={props.ws} path={props.path} primary />
      </div>
    </section>
  );
}

function TextEditor(props: { ws: string; path: string; loaded: Extract<Loaded, { kind: 'text' }>; onClose: () => void }) {
  const { real, eol, mode } = props.loaded;
  const [saved, setSaved] = useState(props.loaded.text);
  const [draft, setDraft] = useState(props.loaded.text);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [justSaved, setJustSaved] = useState(false);
  const { confirm, element } = useConfirm();
  const dirty = draft !== saved;

  useEffect(() => {
    if (!dirty) return;
    const guard = (e: BeforeUnloadEvent) => { e.preventDefault(); e.returnValue = ''; };
    addEventListener('beforeunload', guard);
    return () => removeEventListener('beforeunload', guard);
  }, [dirty]);

  const save = async () => {
    if (saving) return;
    const text = draft;
    setSaving(true);
    setError(null);
    try {
      await writeText(props.ws, real, fromEditor(text, eol), mode);
      setSaved(text);
      setJustSaved(true);
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  const close = async () => {
    if (dirty && !(await confirm(`Discard your unsaved changes to ${props.path}?`, 'Discard'))) return;
    props.onClose();
  };

  const onKey = (e: KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
      e.preventDefault();
      void save();
    }
  };

  return (
    <section class="file-view">
      <FileHead path={props.path} onClose={close}>
        <span class="file-state" role="status" aria-live="polite">
          {dirty ? <span class="badge unsaved">Unsaved changes</span> : justSaved ? <span class="badge saved">Saved</span> : null}
        </span>
        <button type="button" onClick={save} disabled={!dirty || saving}>{saving ? 'Saving…' : 'Save'}</button>
        <DownloadButton ws={props.ws} path={props.path} />
      </FileHead>
      <ErrorBox error={error} />
      {real !== props.path && <p class="muted">A link to <code>{real}</code>: saving writes that file.</p>}
      <textarea class="code file-text" aria-label={`Contents of ${props.path}`} spellcheck={false} wrap="off"
        value={draft} onInput={(e) => { setDraft(e.currentTarget.value); setJustSaved(false); }} onKeyDown={onKey} />
      {element}
    </section>
  );
}
