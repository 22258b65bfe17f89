/**
 * Power actions of a workspace (start, stop, restart, pause, resume, delete). The actions
 * offered follow the state (api/workspaces.ts `actionsFor`); in a transitional state
 * (starting, pausing, …) none is offered and Delete is disabled (except while creating,
 * which a delete may cancel), with the state said in words. Delete, stop and restart ask
 * first; a refusal (409 with the current state) is shown beside the buttons.
 */
import { actionsFor, deleteWorkspace, power, stateOf, type PowerAction, type Workspace } from '../api/workspaces.js';
import { useConfirm } from '../components/confirm.js';
import { useAction } from '../components/use-action.js';
import { ErrorBox } from '../components/status.js';
import { navigate } from '../router.js';
import { canDelete, isTransitional } from './ws-states.js';

const LABEL: Record<PowerAction, string> = { start: 'Start', stop: 'Stop', restart: 'Restart', pause: 'Pause', resume: 'Resume' };
const ASK: Partial<Record<PowerAction, string>> = {
  stop: 'Stop this workspace? Its processes end; its files are kept.',
  restart: 'Restart this workspace? Its processes end and start again.',
};

export function PowerBar(props: { ws: Workspace; refresh: () => void }) {
  const { busy, error, run } = useAction(props.refresh);
  const { confirm, element } = useConfirm();
  const state = stateOf(props.ws);
  const settling = isTransitional(state);

  const act = async (action: PowerAction) => {
    const ask = ASK[action];
    if (ask && !(await confirm(ask, LABEL[action]))) return;
    await run(action, () => power(props.ws.id, action));
  };

  const remove = async () => {
    if (!(await confirm(`Delete ${props.ws.name || props.ws.id}? Its files and snapshots are removed for good.`, 'Delete'))) return;
    await run('delete', async () => {
      await deleteWorkspace(props.ws.id);
      navigate('/console/');
    });
  };

  return (
    <div class="power-bar" role="group" aria-label="Power">
      {settling && <span class="muted" role="status">{state}…</span>}
      {actionsFor(state).map((a) => (
        <button type="button" key={a} class="secondary" disabled={busy !== null} onClick={() => act(a)}>
          {busy === a ? `${LABEL[a]}…` : LABEL[a]}
        </button>
      ))}
      <button type="button" class="danger" disabled={busy !== null || !canDelete(state)} onClick={remove}>{busy === 'delete' ? 'Deleting…' : 'Delete'}</button>
      {element}
      <ErrorBox error={error} />
    </div>
  );
}
