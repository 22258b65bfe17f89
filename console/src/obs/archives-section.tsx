/**
 * Archives of a workspace (control-plane.md §10): create one (an optional version name and
 * a format), the list with each one's status, size and date, restore from one and delete
 * one with its file (both ask first). The list is read again every 2 s while an archive
 * is still being written.
 */
import { useState } from 'preact/hooks';
import { fieldOf } from '../api/errors.js';
import { createArchive, deleteArchive, listArchives, restore, type Archive } from '../api/layers.js';
import { useConfirm } from '../components/confirm.js';
import { ErrorBox, ListStatus, StateBadge } from '../components/status.js';
import { useAsync, useInterval } from '../components/use-async.js';
import type { TabProps } from '../workspace/tab-props.js';
import { bytes, when } from './format.js';
import { useAction } from '../components/use-action.js';

export function ArchivesSection({ ws, refresh }: TabProps) {
  const list = useAsync((signal) => listArchives(ws.id, signal), [ws.id]);
  const action = useAction(() => list.reload());
  const { confirm, element } = useConfirm();
  const [version, setVersion] = useState('');
  const [format, setFormat] = useState('tar.zst');
  const archives = list.data ?? [];
  useInterval(() => { if (archives.some((a) => a.status === 'writing')) list.reload(); }, 2000);

  const create = async (e: Event) => {
    e.preventDefault();
    const a = await action.run('create', () => createArchive(ws.id, { version, format }));
    if (a) setVersion('');
  };
  const restoreFrom = async (a: Archive) => {
    if (!(await confirm(`Restore the workspace from archive ${a.version}? Its current files are replaced.`, 'Restore'))) return;
    await action.run(`restore:${a.version}`, () => restore(ws.id, a.version));
    refresh();
  };
  const remove = async (a: Archive) => {
    if (!(await confirm(`Delete archive ${a.version} and its file?`, 'Delete'))) return;
    await action.run(`delete:${a.version}`, () => deleteArchive(ws.id, a.version, true));
  };
  const versionError = fieldOf(action.error) === 'version';

  return (
    <section class="card obs-section" aria-labelledby="arch-title">
      <h2 id="arch-title">Archives</h2>
      <form class="obs-form" onSubmit={create} aria-label="New archive">
        <label class="field">
          <span>Version <span class="hint">(optional)</span></span>
          <input name="version" value={version} placeholder="v1" maxLength={64} aria-invalid={versionError}
            onInput={(e) => setVersion((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field narrow">
          Format
          <select name="format" value={format} onChange={(e) => setFormat((e.target as HTMLSelectElement).value)}>
            <option value="tar.zst">tar.zst</option>
            <option value="tar.gz">tar.gz</option>
          </select>
        </label>
        <button type="submit" disabled={action.busy !== null}>{action.busy === 'create' ? 'Creating…' : 'Create archive'}</button>
      </form>
      <ErrorBox error={action.error} />
      <ListStatus state={list} loading="Loading the archives…" isEmpty={archives.length === 0} empty="No archives yet." />
      {archives.length > 0 && (
        <div class="table-wrap">
          <table aria-label="Archives">
            <thead><tr><th>Version</th><th>Status</th><th class="hide-narrow">Size</th><th class="hide-narrow">Created</th><th>Actions</th></tr></thead>
            <tbody>
              {archives.map((a) => (
                <tr key={a.version}>
                  <td><code>{a.version}</code><div class="muted">{a.format}</div></td>
                  <td><StateBadge state={a.status ?? 'unknown'} /></td>
                  <td class="hide-narrow">{bytes(a.size_bytes)}</td>
                  <td class="hide-narrow">{when(a.created_at)}</td>
                  <td>
                    <div class="obs-actions" role="group" aria-label={`Actions for archive ${a.version}`}>
                      <button type="button" class="secondary" disabled={action.busy !== null || a.status !== 'ready'} onClick={() => restoreFrom(a)}>
                        {action.busy === `restore:${a.version}` ? 'Restoring…' : 'Restore'}
                      </button>
                      <button type="button" class="danger" disabled={action.busy !== null || a.status !== 'ready'} onClick={() => remove(a)}>
                        {action.busy === `delete:${a.version}` ? 'Deleting…' : 'Delete'}
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {element}
    </section>
  );
}
