/**
 * Private links stay on one node (issue 16): linking a workspace to one on another node
 * answers 409 `cross_node_link` with `details.field` `private_link_ids`, and stores
 * nothing; links between workspaces of one node still work. The second workspace is
 * moved to another node id in the store (what placement does on a fleet).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcess, type InProcessWarren } from '../support/in-process.js';

let w: InProcessWarren;
before(async () => { w = await startInProcess(); });
after(async () => w?.close());

async function create(): Promise<string> {
  const created = await w.request('POST', '/workspace', { image: 'node-20' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.workspace.id as string;
}

test('a private link to a workspace on another node is refused with cross_node_link; same-node links work', async () => {
  const [a, b, c] = [await create(), await create(), await create()];
  const store = w.domain.store;
  const rec = (await store.getWorkspace(b))!;
  await store.updateWorkspace({ ...rec, nodeId: 'n-elsewhere' }, rec.version);

  const refused = await w.request('PATCH', `/workspace/${a}/network`, { private_link_ids: [c, b] });
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.error?.code ?? refused.body.code, 'cross_node_link');
  const details = refused.body.error?.details ?? refused.body.details;
  assert.equal(details.field, 'private_link_ids');
  assert.equal(details.workspace_id, b);
  assert.deepEqual((await store.getWorkspace(a))!.network.private_link_ids, [], 'nothing stored');

  const linked = await w.request('PATCH', `/workspace/${a}/network`, { private_link_ids: [c] });
  assert.equal(linked.status, 200, JSON.stringify(linked.body));
  assert.deepEqual((await store.getWorkspace(a))!.network.private_link_ids, [c]);
});
