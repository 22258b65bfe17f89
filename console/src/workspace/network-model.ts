/**
 * The network tab's model (pure): the policy in force → the form's values, the form → the
 * PATCH body holding only what changed (so a save never rewrites what the user did not
 * touch), and an API error's `details.field` (`ingress_ports[1]`) → the form's field.
 * Lists are typed as text ("80, 443"); a port that is not a number is sent as typed, so the
 * API names the mistake. Egress hosts are not sent while internet access is off (the API
 * empties them then anyway).
 */
import type { NetworkPatch, NetworkPolicy } from '../api/network.js';
import { numberOrText, splitList } from '../create/create-body.js';

export interface NetworkForm {
  allow_internet: boolean;
  public_access: boolean;
  ingress_ports: string;
  egress: string;
  egress_ports: string;
  private_link_ids: string[];
}

export type NetworkField = keyof NetworkForm;

export function formOf(n: NetworkPolicy): NetworkForm {
  return {
    allow_internet: n.allow_internet,
    public_access: n.public_access,
    ingress_ports: n.ingress_ports.join(', '),
    egress: n.egress.join(', '),
    egress_ports: n.egress_ports.join(', '),
    private_link_ids: [...n.private_link_ids],
  };
}

const sameList = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) =>
  a.length === b.length && a.every((x, i) => String(x) === String(b[i]));
const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x) => b.includes(x));

export function diffNetwork(cur: NetworkPolicy, f: NetworkForm): NetworkPatch {
  const patch: NetworkPatch = {};
  if (f.allow_internet !== cur.allow_internet) patch.allow_internet = f.allow_internet;
  if (f.public_access !== cur.public_access) patch.public_access = f.public_access;
  const ingressPorts = splitList(f.ingress_ports).map(numberOrText);
  if (!sameList(ingressPorts, cur.ingress_ports)) patch.ingress_ports = ingressPorts;
  const egressPorts = splitList(f.egress_ports).map(numberOrText);
  if (!sameList(egressPorts, cur.egress_ports)) patch.egress_ports = egressPorts;
  const egress = splitList(f.egress);
  if (f.allow_internet && !sameList(egress, cur.egress)) patch.egress = egress;
  if (!sameSet(f.private_link_ids, cur.private_link_ids)) patch.private_link_ids = [...f.private_link_ids];
  return patch;
}

const FIELDS: readonly NetworkField[] = ['allow_internet', 'public_access', 'ingress_ports', 'egress', 'egress_ports', 'private_link_ids'];

/** `egress[2]` → egress; a field the form does not have → undefined (a form-level error). */
export function networkFieldOf(apiField: string | undefined): NetworkField | undefined {
  const key = apiField?.replace(/\[\d+\]$/, '');
  return FIELDS.find((f) => f === key);
}
