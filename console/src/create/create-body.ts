/**
 * The create form's model (pure): the form's values, the `POST /workspace` body built from
 * them in the SDK's shape (`{ image, name?, mode, config: { cpus, memory_mb, disk_size_mb, … },
 * wait_ready: false }`, control-plane.md §2), the network settings the create body has no
 * place for (sent as a `PATCH /workspace/:id/network` afterwards), and the mapping of an
 * API error's `details.field` (`config.cpus`, `egress[1]`, …) to the form's field.
 * Numbers the user typed that are not numbers are sent as typed: the API names the mistake.
 */
import type { NetworkPatch } from '../api/network.js';

export interface CreateForm {
  image: string;
  name: string;
  cpus: string;
  memory_mb: string;
  disk_size_mb: string;
  mode: 'permanent' | 'temporary';
  ttl: string;
  ttl_action: string;
  allow_internet: boolean;
  ingress_ports: string;
  egress: string;
  ssh: boolean;
}

export type FormField = keyof CreateForm;

export const EMPTY_FORM: CreateForm = {
  image: '', name: '', cpus: '', memory_mb: '', disk_size_mb: '', mode: 'permanent', ttl: '', ttl_action: 'stop',
  allow_internet: true, ingress_ports: '', egress: '', ssh: false,
};

export const TTL_ACTIONS = ['stop', 'pause', 'suspend', 'remove'] as const;

/** A number when the text is one, else the text itself (trimmed). */
export function numberOrText(s: string): number | string {
  const t = s.trim();
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
}

/** Splits "a, b c\nd" into items. */
export function splitList(s: string): string[] {
  return s.split(/[\s,]+/).filter(Boolean);
}

export function buildCreateBody(f: CreateForm): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const k of ['cpus', 'memory_mb', 'disk_size_mb'] as const) {
    if (f[k].trim() !== '') config[k] = numberOrText(f[k]);
  }
  if (f.mode === 'temporary') {
    if (f.ttl.trim() !== '') config.ttl = numberOrText(f.ttl);
    config.ttl_action = f.ttl_action;
  }
  if (!f.allow_internet) config.network_config = { allow_internet: false };
  if (f.ssh) config.ssh_access = true;
  const body: Record<string, unknown> = { image: f.image.trim() };
  if (f.name.trim() !== '') body.name = f.name.trim();
  body.mode = f.mode;
  body.config = config;
  body.wait_ready = false;
  return body;
}

/** Ingress ports and egress hosts, applied by PATCH after the create; null when none were given. */
export function networkExtras(f: CreateForm): NetworkPatch | null {
  const patch: NetworkPatch = {};
  const ports = splitList(f.ingress_ports);
  if (ports.length) patch.ingress_ports = ports.map(numberOrText);
  const hosts = splitList(f.egress);
  if (hosts.length && f.allow_internet) patch.egress = hosts;
  return Object.keys(patch).length ? patch : null;
}

const FIELDS: Record<string, FormField> = {
  image: 'image',
  name: 'name',
  mode: 'mode',
  cpus: 'cpus',
  vcpus: 'cpus',
  memory_mb: 'memory_mb',
  ram_mb: 'memory_mb',
  disk_size_mb: 'disk_size_mb',
  writable_size_mb: 'disk_size_mb',
  disk_mb: 'disk_size_mb',
  ttl: 'ttl',
  ttl_action: 'ttl_action',
  network_config: 'allow_internet',
  'network_config.allow_internet': 'allow_internet',
  ssh_access: 'ssh',
  ingress_ports: 'ingress_ports',
  egress: 'egress',
};

/** The form field an API error names (`config.cpus` → cpus, `egress[2]` → egress); undefined → a form-level error. */
export function formFieldOf(apiField: string | undefined): FormField | undefined {
  if (!apiField) return undefined;
  const key = apiField.replace(/^config\./, '').replace(/\[\d+\]$/, '');
  return FIELDS[key];
}
