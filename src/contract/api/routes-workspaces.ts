/**
 * Descriptors of the workspace-centred control-plane routes (control-plane.md §2–§10):
 * create and list, lifecycle and power, snapshots and archives, resources, runtime API
 * access, network, public access and SSH. See `descriptor.ts` for what a descriptor states.
 */
import { z } from 'zod';
import { createWorkspaceSchema, updateWorkspaceSchema } from '../commands.js';
import { sshKeySchema, sshPasswordSchema } from '../ssh.js';
import { archiveCreateSchema, archiveDeleteQuerySchema, archivesDeleteQuerySchema, forkSchema, restoreSchema, snapshotSchema } from '../layers.js';
import { destroyBodySchema, destroyQuerySchema, idleSchema, permanentSchema, pingSchema, temporarySchema, ttlSchema } from '../lifecycle.js';
import { overlayListQuerySchema, overlayResizeSchema, resourcesSchema } from '../resources.js';
import { networkPatchSchema, networkReplaceSchema, outboundIpSchema } from '../network.js';
import { exposeSchema, slugUpdateSchema } from '../public-access.js';
import { archivedListQuerySchema, workspaceListQuerySchema } from '../workspace-list.js';
import {
  ok, workspaceObject, WORKSPACE_LOOKUP, WORKSPACE_STATE,
  type Caller, type RouteDescriptor,
} from './descriptor.js';

export const WS: readonly Caller[] = ['admin', 'namespace', 'workspace'];
export const NS: readonly Caller[] = ['admin', 'namespace'];
export const ADMIN: readonly Caller[] = ['admin'];

type Extra = Partial<Omit<RouteDescriptor, 'api' | 'method' | 'path' | 'summary' | 'callers'>>;

/** A control-plane descriptor; success is `200 ok()` and no route-specific errors unless given. */
export function cp(method: RouteDescriptor['method'], path: string, callers: readonly Caller[], summary: string, extra: Extra = {}): RouteDescriptor {
  return { api: 'control-plane', method, path, callers, summary, responses: { 200: ok() }, errors: [], ...extra };
}

const workspaceReply = ok({ workspace: workspaceObject });
const workspaceList = ok({ workspaces: z.array(workspaceObject), total: z.number().int(), page: z.number().int(), limit: z.number().int() });
const lifecycleReply = ok({ mode: z.string(), status: z.string(), ttl: z.number().nullable(), snapshot_supported: z.boolean() });
const LOOKUP = WORKSPACE_LOOKUP;
const STATE = WORKSPACE_STATE;

const core: RouteDescriptor[] = [
  cp('GET', '/workspace/quota', ['admin', 'namespace', 'billing'], 'Capacity, usage and per-workspace limits of the caller'),
  cp('GET', '/workspace/archived', WS, 'Workspaces whose VM was destroyed while record and archives remain', { query: archivedListQuerySchema, responses: { 200: workspaceList } }),
  cp('POST', '/workspace', NS, 'Create a workspace', {
    body: createWorkspaceSchema,
    responses: { 200: workspaceReply, 201: workspaceReply },
    errors: ['MISSING_USER_ID', 'INVALID_NAMESPACE', 'INVALID_NAME_LENGTH', 'INVALID_IMAGE', 'INVALID_CONFIG',
      'SANDBOX_LIMIT_REACHED', 'NAMESPACE_LIMIT_REACHED', 'POOL_LIMIT_REACHED', 'RUNNING_POOL_REACHED',
      'RESOURCE_NOT_ALLOWED', 'VM_UNAVAILABLE', 'HOST_CAPACITY_REACHED', 'CREATE_FAILED', 'QUOTA_EXCEEDED',
      'image_not_found', 'conflict', 'not_found', 'insufficient_storage', 'service_unavailable', 'ssh_unavailable',
      'workload_exists', 'workload_limit_reached', 'idle_not_allowed'],
  }),
  cp('GET', '/workspace', WS, 'List workspaces', {
    query: workspaceListQuerySchema,
    responses: { 200: workspaceList },
  }),
  cp('GET', '/workspace/:id', WS, 'One workspace', { responses: { 200: workspaceReply }, errors: LOOKUP }),
  cp('PUT', '/workspace/:id', WS, 'Update name, config or metadata', {
    body: updateWorkspaceSchema, responses: { 200: workspaceReply },
    errors: [...STATE, 'INVALID_CONFIG', 'INVALID_NAME_LENGTH', 'RESOURCE_NOT_ALLOWED', 'QUOTA_EXCEEDED', 'NAMESPACE_LIMIT_REACHED', 'idle_not_allowed'],
  }),
  cp('DELETE', '/workspace/:id', WS, 'Delete a workspace', { whileSuspended: true, responses: { 200: ok({ id: z.string() }) }, errors: STATE }),
  cp('POST', '/workspace/:id/provisioning/retry', WS, 'Retry a failed create', { responses: { 200: workspaceReply }, errors: [...STATE, 'CREATE_FAILED', 'VM_UNAVAILABLE'] }),
  cp('GET', '/workspace/:id/details', WS, 'Workspace with stats, SSH, API access and config', { responses: { 200: workspaceReply }, errors: LOOKUP }),
];

const POWER = ['start', 'stop', 'restart', 'pause', 'resume'] as const;

const lifecycle: RouteDescriptor[] = [
  ...POWER.map((action) => cp('POST', `/workspace/:id/${action}`, WS, `Power: ${action}`, {
    whileSuspended: action === 'stop',
    responses: { 200: ok({ action: z.literal(action), status: z.string(), workspace: workspaceObject.nullable() }) },
    errors: [...STATE, 'RUNNING_POOL_REACHED', 'QUOTA_EXCEEDED', 'VM_UNAVAILABLE', 'agent_unreachable', 'insufficient_storage'],
  })),
  cp('GET', '/workspace/:id/lifecycle', WS, 'Lifecycle status', { responses: { 200: lifecycleReply }, errors: LOOKUP }),
  cp('DELETE', '/workspace/:id/lifecycle', WS, 'Destroy the VM, keep record and archives', {
    whileSuspended: true, query: destroyQuerySchema, body: destroyBodySchema,
    responses: { 200: ok({ id: z.string(), status: z.string() }) }, errors: [...STATE, 'insufficient_storage', 'archive_too_large'],
  }),
  cp('POST', '/workspace/:id/lifecycle/permanent', WS, 'Make permanent', {
    body: permanentSchema, responses: { 200: lifecycleReply }, errors: [...STATE, 'INVALID_CONFIG'],
  }),
  cp('POST', '/workspace/:id/lifecycle/temporary', WS, 'Make temporary with a TTL', {
    body: temporarySchema, responses: { 200: lifecycleReply }, errors: STATE,
  }),
  cp('PUT', '/workspace/:id/lifecycle/ttl', WS, 'Set the TTL', {
    body: ttlSchema, responses: { 200: lifecycleReply }, errors: STATE,
  }),
  cp('POST', '/workspace/:id/ping', WS, 'Count as activity; renew the TTL', {
    body: pingSchema, responses: { 200: lifecycleReply }, errors: STATE,
  }),
  cp('PUT', '/workspace/:id/lifecycle/idle', WS, 'Set the idle policy', {
    body: idleSchema, responses: { 200: lifecycleReply }, errors: [...STATE, 'idle_not_allowed'],
  }),
];

const archiveObject = z.looseObject({ version: z.string(), status: z.enum(['ready', 'writing']), format: z.string(), kind: z.string() });
const LAYER_ERRORS = [...STATE, 'not_implemented', 'insufficient_storage', 'archive_corrupted', 'archive_too_large', 'memory_in_use'] as const;

const layers: RouteDescriptor[] = [
  cp('POST', '/workspace/:id/snapshot', WS, 'Snapshot the workspace', {
    body: snapshotSchema, responses: { 201: ok({ snapshot: z.looseObject({}), after: z.string() }) }, errors: LAYER_ERRORS,
  }),
  cp('POST', '/workspace/:id/restore', WS, 'Restore the latest snapshot or an archive', {
    body: restoreSchema, responses: { 200: ok({ workspace: workspaceObject.nullable() }) }, errors: LAYER_ERRORS,
  }),
  cp('POST', '/workspace/:id/fork', NS, 'Fork into new workspaces (Warren extension)', {
    body: forkSchema,
    responses: { 201: ok({ source: z.string(), workspaces: z.array(workspaceObject) }) },
    errors: [...LAYER_ERRORS, 'INVALID_NAME_LENGTH', 'SANDBOX_LIMIT_REACHED', 'NAMESPACE_LIMIT_REACHED', 'RUNNING_POOL_REACHED', 'QUOTA_EXCEEDED', 'HOST_CAPACITY_REACHED', 'CREATE_FAILED'],
  }),
  cp('POST', '/workspace/:id/archives', WS, 'Create an archive', {
    body: archiveCreateSchema,
    responses: { 201: ok({ archive: archiveObject }) }, errors: LAYER_ERRORS,
  }),
  cp('GET', '/workspace/:id/archives', WS, 'List archives', { responses: { 200: ok({ archives: z.array(archiveObject) }) }, errors: LOOKUP }),
  cp('GET', '/workspace/:id/archives/:version', WS, 'One archive', { responses: { 200: ok({ archive: archiveObject }) }, errors: [...LOOKUP, 'validation_error'] }),
  cp('DELETE', '/workspace/:id/archives/:version', WS, 'Delete an archive', {
    query: archiveDeleteQuerySchema, responses: { 200: ok({ deleted: z.string() }) }, errors: [...LOOKUP, 'conflict'],
  }),
  cp('DELETE', '/workspace/:id/archives', WS, 'Delete every archive', {
    query: archivesDeleteQuerySchema, responses: { 200: ok({ count: z.number().int() }) }, errors: [...LOOKUP, 'conflict'],
  }),
];

const RESOURCE_ERRORS = [...STATE, 'RESOURCE_NOT_ALLOWED', 'QUOTA_EXCEEDED', 'NAMESPACE_LIMIT_REACHED', 'disk_shrink_not_supported', 'memory_in_use', 'insufficient_storage', 'not_implemented'] as const;

const resources: RouteDescriptor[] = [
  cp('GET', '/workspace/:id/resources', WS, 'Resources and limits', { errors: LOOKUP }),
  cp('PUT', '/workspace/:id/resources', WS, 'Change resources', { body: resourcesSchema, errors: RESOURCE_ERRORS }),
  cp('PATCH', '/workspace/:id/resources', WS, 'Change resources', { body: resourcesSchema, errors: RESOURCE_ERRORS }),
  cp('GET', '/workspace/:id/overlay', WS, 'Files of the writable layer', {
    query: overlayListQuerySchema, responses: { 200: ok({ files: z.array(z.unknown()), count: z.number().int() }) }, errors: STATE,
  }),
  cp('GET', '/workspace/:id/overlay/usage', WS, 'Writable layer usage', { responses: { 200: ok({ usage: z.unknown() }) }, errors: STATE }),
  cp('PUT', '/workspace/:id/overlay/resize', WS, 'Resize the writable layer', { body: overlayResizeSchema, errors: RESOURCE_ERRORS }),
  cp('POST', '/workspace/:id/overlay/sync', WS, 'Flush the writable layer', { responses: { 200: ok({ synced: z.unknown() }) }, errors: STATE }),
];

const tokenReply = ok({ token: z.string() });
/** `internal-api-access` is the same resource under the name the MCP uses (control-plane.md §16). */
const runtimeAccess: RouteDescriptor[] = ['runtime-api-access', 'internal-api-access'].flatMap((name) => {
  const base = `/workspace/:id/${name}`;
  return [
    cp('GET', base, WS, 'Runtime API status', { responses: { 200: ok({ enabled: z.boolean() }) }, errors: LOOKUP }),
    cp('POST', `${base}/enable`, WS, 'Enable the runtime API', { errors: [...STATE, 'agent_unreachable'] }),
    cp('POST', `${base}/disable`, WS, 'Disable the runtime API', { errors: STATE }),
    cp('GET', `${base}/token`, WS, 'A gateway token', { responses: { 200: tokenReply }, errors: [...STATE, 'runtime_api_disabled'] }),
    cp('POST', `${base}/token`, WS, 'Rotate the raw token', { responses: { 200: tokenReply }, errors: [...STATE, 'runtime_api_disabled'] }),
    cp('GET', `${base}/token/raw`, WS, 'The raw token (direct, workspace to workspace)', { responses: { 200: tokenReply }, errors: [...STATE, 'runtime_api_disabled'] }),
    cp('POST', `${base}/workspace`, NS, 'A 30-day workspace token', { responses: { 200: tokenReply }, errors: [...STATE, 'runtime_api_disabled'] }),
    cp('POST', `${base}/reconnect`, WS, 'Reconnect (status)', { errors: LOOKUP }),
  ];
});

const NETWORK_ERRORS = [...STATE, 'ip_required', 'invalid_zone_ip', 'zone_missing_host', 'pool_empty', 'not_implemented', 'cross_node_link'] as const;
const network: RouteDescriptor[] = [
  cp('GET', '/workspace/:id/network', WS, 'Network policy', { errors: LOOKUP }),
  cp('PATCH', '/workspace/:id/network', WS, 'Change the network policy', { body: networkPatchSchema, errors: NETWORK_ERRORS }),
  cp('PUT', '/workspace/:id/network', WS, 'Replace the network policy', { body: networkReplaceSchema, errors: NETWORK_ERRORS }),
  cp('POST', '/workspace/:id/network/ip', WS, 'Assign an outbound IP', {
    body: outboundIpSchema, responses: { 200: ok({ ip: z.string() }) }, errors: NETWORK_ERRORS,
  }),
  cp('GET', '/zone/mine', WS, 'Outbound proxy pool', { responses: { 200: ok({ proxies: z.array(z.unknown()) }) } }),
];

const portObject = z.looseObject({ port: z.number().int() });
const PUBLIC_ERRORS = [...LOOKUP, 'port_reserved', 'slug_taken', 'domain_not_verified', 'public_port_limit_reached', 'public_access_required'] as const;
const publicAccess: RouteDescriptor[] = [
  cp('GET', '/workspace/:id/public-access', WS, 'Exposed ports', { responses: { 200: ok({ ports: z.array(portObject) }) }, errors: LOOKUP }),
  cp('POST', '/workspace/:id/public-access', WS, 'Expose a port', {
    body: exposeSchema,
    responses: { 200: ok({ port: portObject }), 201: ok({ port: portObject }) }, errors: PUBLIC_ERRORS,
  }),
  cp('PATCH', '/workspace/:id/public-access/:port', WS, 'Change an exposed port\'s slug', {
    body: slugUpdateSchema, responses: { 200: ok({ port: portObject }) }, errors: PUBLIC_ERRORS,
  }),
  cp('DELETE', '/workspace/:id/public-access/:port', WS, 'Stop exposing a port', { errors: [...PUBLIC_ERRORS, 'validation_error'] }), // a :port that is not a port
];

// agent_unreachable: the settings are stored, but the running workspace's agent (on this host or its node) did not take them.
const SSH_ERRORS = [...STATE, 'ssh_unavailable', 'agent_unreachable'] as const;
const ssh: RouteDescriptor[] = [
  cp('GET', '/workspace/:id/ssh', WS, 'SSH status', { errors: LOOKUP }),
  cp('POST', '/workspace/:id/ssh/enable', WS, 'Enable SSH', { errors: SSH_ERRORS }),
  cp('POST', '/workspace/:id/ssh/disable', WS, 'Disable SSH', { whileSuspended: true, errors: SSH_ERRORS }),
  cp('POST', '/workspace/:id/ssh/password', WS, 'Set the SSH password', { body: sshPasswordSchema, errors: SSH_ERRORS }),
  cp('POST', '/workspace/:id/ssh/key', WS, 'Set the SSH public key', { body: sshKeySchema, errors: SSH_ERRORS }),
];

export const WORKSPACE_ROUTES: readonly RouteDescriptor[] = [
  ...core, ...lifecycle, ...layers, ...resources, ...runtimeAccess, ...network, ...publicAccess, ...ssh,
];
