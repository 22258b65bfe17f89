/** What the network policy in force is (the last `GET /workspace/:id/network`), read-only. */
import type { NetworkPolicy } from '../api/network.js';

const list = (xs: ReadonlyArray<string | number>, none: string) => (xs.length ? xs.join(', ') : <span class="muted">{none}</span>);

export function InForce(props: { n: NetworkPolicy }) {
  const { n } = props;
  return (
    <section class="card" aria-labelledby="net-in-force">
      <h2 id="net-in-force">In force</h2>
      <dl class="facts">
        <dt>Address</dt><dd class="mono">{n.ip ?? '—'}{n.gateway ? ` (gateway ${n.gateway})` : ''}</dd>
        <dt>Internet</dt><dd>{n.allow_internet ? 'allowed' : 'blocked'}</dd>
        <dt>Egress hosts</dt><dd>{n.allow_internet ? list(n.egress, 'any public destination') : <span class="muted">none (no internet)</span>}</dd>
        <dt>Egress ports</dt><dd>{list(n.egress_ports, 'any')}</dd>
        <dt>Public access</dt><dd>{n.public_access ? 'on (the host reaches the ingress ports)' : 'off'}</dd>
        <dt>Ingress ports</dt><dd>{list(n.ingress_ports, 'every port')}</dd>
        <dt>Ingress sources</dt><dd>{list(n.ingress, 'none')}</dd>
        <dt>Private links</dt>
        <dd>{n.private_links?.length
          ? n.private_links.map((l) => `${l.name || l.id} (${l.ip})`).join(', ')
          : list(n.private_link_ids, 'none')}</dd>
        {n.outbound_ip && <><dt>Outbound IP</dt><dd class="mono">{n.outbound_ip}</dd></>}
      </dl>
    </section>
  );
}
