/**
 * The Files tab's browser: one directory at a time (`GET /files?path=`), a breadcrumb, folders
 * before files. Opening a file hands over to FileView (editor.tsx). Actions: new folder, upload
 * (file picker, or drop files/folders anywhere on the listing), download (a file's own bytes or
 * a folder's .tar.gz), delete (asked first; recursive for folders). The current folder is kept
 * in the address (`?path=`) so a reload comes back to it; the first visit starts at the
 * workspace user's home (`GET /runtime`).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { deletePath, listDir, makeDir, statPath, type FileEntry } from '../api/files.js';
import { runtimeJson } from '../api/runtime.js';
import { useConfirm } from '../components/confirm.js';
import { Empty, ErrorBox, Loading } from '../components/status.js';
import { useAsync, type AsyncState } from '../components/use-async.js';
import { FileView } from './editor.js';
import { crumbs, joinPath, nameProblem, normalizePath, parentOf } from './paths.js';
import { formatSize } from './text.js';
import { downloadFile, downloadFolder, droppedItems, realPath, uploadFiles, type UploadItem } from './transfer.js';

function dirFromAddress(): string | null {
  const p = new URLSearchParams(location.search).get('path');
  return p ? normalizePath(p) : null;
}

export function FileBrowser(props: { ws: string }) {
  const [dir, setDir] = useState<string | null>(dirFromAddress);
  const [open, setOpen] = useState<string | null>(null);
  const home = useAsync(async () => dir ?? (await runtimeJson<{ home?: string }>(props.ws, 'GET', '/runtime').catch(() => ({ home: '/' }))).home ?? '/', [props.ws]);
  const current = dir ?? home.data ?? null;

  useEffect(() => {
    if (!current) return;
    const url = `${location.pathname}?path=${encodeURIComponent(current)}`;
    if (`${location.pathname}${location.search}` !== url) history.replaceState(history.state, '', url);
  }, [current]);

  if (!current) return home.error ? <ErrorBox error={home.error} retry={home.reload} /> : <Loading label="Opening the files…" />;
  if (open) return <FileView ws={props.ws} path={open} onClose={() => setOpen(null)} />;
  return <Folder ws={props.ws} dir={current} go={setDir} open={setOpen} />;
}

function sortEntries(entries: FileEntry[]): FileEntry[] {
  const rank = (e: FileEntry) => (e.type === 'directory' ? 0 : 1);
  return [...entries].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

interface FolderProps { ws: string; dir: string; go: (dir: string) => void; open: (path: string) => void }

function Folder(props: FolderProps) {
  const { ws, dir } = props;
  const list = useAsync((signal) => listDir(ws, dir, signal).then(sortEntries), [ws, dir]);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const { confirm, element } = useConfirm();

  /** Runs an action with a busy label; its error or notice is shown above the listing. */
  const act = async (label: string, fn: () => Promise<string | void>) => {
    setBusy(label);
    setError(null);
    setNotice(null);
    try {
      const done = await fn();
      if (done) setNotice(done);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const upload = (items: UploadItem[]) => {
    if (items.length === 0) return;
    const bad = items.find((i) => i.name.split('/').some((part) => nameProblem(part)));
    if (bad) return setError(new Error(`Cannot upload "${bad.name}": ${nameProblem(bad.name.split('/').pop() ?? '')}`));
    const bytes = items.reduce((n, i) => n + i.file.size, 0);
    void act(`Uploading ${items.length} file${items.length === 1 ? '' : 's'} (${formatSize(bytes)})…`, async () => {
      const n = await uploadFiles(ws, dir, items);
      list.reload();
      return `Uploaded ${n} file${n === 1 ? '' : 's'} to ${dir}.`;
    });
  };

  const openEntry = (e: FileEntry) => {
    if (e.type === 'directory') return props.go(e.path);
    if (e.type !== 'symlink') return props.open(e.path);
    void act('Opening…', async () => {
      const target = await statPath(ws, await realPath(ws, e.path));
      if (target.type === 'directory') props.go(e.path);
      else props.open(e.path);
    });
  };

  const remove = async (e: FileEntry) => {
    const what = e.type === 'directory' ? `the folder ${e.path} and everything in it` : e.path;
    if (!(await confirm(`Delete ${what}? This cannot be undone.`, 'Delete'))) return;
    await act(`Deleting ${e.name}…`, async () => {
      await deletePath(ws, e.path);
      list.reload();
      return `Deleted ${e.path}.`;
    });
  };

  const download = (e: FileEntry) => act(`Downloading ${e.name}…`, () =>
    (e.type === 'directory' ? downloadFolder(ws, e.path) : downloadFile(ws, e.path)));

  const dropHandlers = {
    onDragOver: (ev: DragEvent) => { if (ev.dataTransfer?.types.includes('Files')) { ev.preventDefault(); setDragging(true); } },
    onDragLeave: (ev: DragEvent) => { if (ev.currentTarget === ev.target) setDragging(false); },
    onDrop: (ev: DragEvent) => {
      ev.preventDefault();
      setDragging(false);
      if (ev.dataTransfer) void droppedItems(ev.dataTransfer).then(upload, setError);
    },
  };

  return (
    <section class="files" aria-label="Files">
      <Breadcrumb dir={dir} go={props.go} />
      <div class="files-toolbar row">
        <button type="button" class="secondary" onClick={() => props.go(parentOf(dir))} disabled={dir === '/'}>Up</button>
        <button type="button" class="secondary" onClick={list.reload}>Refresh</button>
        <NewFolder dir={dir} onCreate={(path) => act('Creating the folder…', async () => {
          await makeDir(ws, path);
          list.reload();
          return `Created ${path}.`;
        })} />
        <button type="button" class="secondary" onClick={() => picker.current?.click()}>Upload files</button>
        <input ref={picker} type="file" multiple hidden aria-label="Files to upload"
          onChange={(e) => { upload([...(e.currentTarget.files ?? [])].map((file) => ({ name: file.name, file }))); e.currentTarget.value = ''; }} />
        <button type="button" class="secondary" onClick={() => act('Downloading the folder…', () => downloadFolder(ws, dir))}>Download folder</button>
      </div>
      <div role="status" aria-live="polite" class="files-status">
        {busy ? <Loading label={busy} /> : notice ? <p class="notice">{notice}</p> : null}
      </div>
      <ErrorBox error={error} />
      <div class={`drop-zone${dragging ? ' dragging' : ''}`} {...dropHandlers}>
        {dragging && <p class="drop-hint" aria-hidden="true">Drop to upload into {dir}</p>}
        <Listing list={list} dir={dir} open={openEntry} download={download} remove={remove} />
      </div>
      {element}
    </section>
  );
}

function Breadcrumb(props: { dir: string; go: (dir: string) => void }) {
  const parts = crumbs(props.dir);
  return (
    <nav class="breadcrumb" aria-label="Folder path">
      {parts.map((c, i) => (
        <span key={c.path}>
          {i > 1 && <span class="sep" aria-hidden="true">/</span>}
          {i === parts.length - 1
            ? <span aria-current="location" class="mono">{c.name}</span>
            : <button type="button" class="crumb mono" onClick={() => props.go(c.path)}>{c.name}</button>}
        </span>
      ))}
    </nav>
  );
}

function NewFolder(props: { dir: string; onCreate: (path: string) => Promise<void> }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  if (!editing) return <button type="button" class="secondary" onClick={() => setEditing(true)}>New folder</button>;
  const submit = async (e: Event) => {
    e.preventDefault();
    const why = nameProblem(name);
    setProblem(why);
    if (why) return;
    await props.onCreate(joinPath(props.dir, name));
    setEditing(false);
    setName('');
  };
  return (
    <form class="new-folder row" onSubmit={submit}>
      <label class="field inline">
        <span>Folder name</span>
        <input value={name} autoFocus aria-invalid={problem ? 'true' : undefined} aria-describedby="new-folder-problem"
          onInput={(e) => setName(e.currentTarget.value)} onKeyDown={(e) => { if (e.key === 'Escape') setEditing(false); }} />
      </label>
      <button type="submit">Create</button>
      <button type="button" class="secondary" onClick={() => { setEditing(false); setProblem(null); }}>Cancel</button>
      {problem && <p id="new-folder-problem" class="field-error">{problem}</p>}
    </form>
  );
}

interface ListingProps {
  list: AsyncState<FileEntry[]>;
  dir: string;
  open: (e: FileEntry) => void;
  download: (e: FileEntry) => void;
  remove: (e: FileEntry) => void;
}

function Listing(props: ListingProps) {
  const { list } = props;
  if (!list.data) return list.error ? <ErrorBox error={list.error} retry={list.reload} /> : <Loading label="Listing the folder…" />;
  if (list.data.length === 0) return <Empty>This folder is empty. Drop files here or use Upload files.</Empty>;
  return (
    <div class="table-wrap">
      <table class="file-table">
        <thead>
          <tr><th scope="col">Name</th><th scope="col">Size</th><th scope="col" class="hide-narrow">Modified</th><th scope="col"><span class="sr-only">Actions</span></th></tr>
        </thead>
        <tbody>
          {list.data.map((e) => (
            <tr key={e.path}>
              <td>
                <button type="button" class={`entry entry-${e.type}`} onClick={() => props.open(e)}>
                  {e.name}{e.type === 'directory' ? '/' : e.type === 'symlink' ? ' →' : ''}
                </button>
              </td>
              <td class="num">{e.type === 'directory' ? '' : formatSize(e.size)}</td>
              <td class="hide-narrow muted">{e.modified ? new Date(e.modified).toLocaleString() : ''}</td>
              <td class="actions">
                <button type="button" class="secondary" aria-label={`Download ${e.name}`} onClick={() => props.download(e)}>Download</button>
                <button type="button" class="danger" aria-label={`Delete ${e.name}`} onClick={() => props.remove(e)}>Delete</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
