/**
 * Descriptors of the remaining control-plane routes: images and builds, usage and activity,
 * stats, logs, metadata, workloads (control-plane.md §11–§15, §20), namespaces, quotas,
 * tokens and API keys (§1, §21), the node registry (issue 16), and the public routes (`/`, `/healthz`, `/metrics`,
 * `/openapi.json`).
 */
import { z } from 'zod';
import { buildQuerySchema } from '../image-build.js';
import { commitImageSchema, imageListQuerySchema, importPathSchema, importUploadQuerySchema } from '../images.js';
import { logSourceQuerySchema } from '../logs.js';
import { metadataPatchSchema, metadataPutSchema } from '../metadata.js';
import { nodeObject } from '../nodes.js';
import { daysQuerySchema, namespaceCreateSchema, namespaceListQuerySchema, namespaceUpdateSchema, pageQuerySchema } from '../namespaces.js';
import {
  defaultKeyQuerySchema, defaultKeySchema, defaultLevelQuerySchema, quotaKeySchema, setDefaultQuotaSchema, setQuotaSchema, toggleAutoApplySchema,
} from '../quotas.js';
import { createApiKeySchema, issueTokenSchema, rotateKeySchema } from '../tokens.js';
import { activityQuerySchema, estimateQuerySchema, usagePeriodQuerySchema } from '../usage.js';
import { tailQuerySchema, workloadCreateSchema, workloadListQuerySchema, workloadUpdateSchema } from '../workloads.js';
import { ok, WORKSPACE_LOOKUP, WORKSPACE_STATE, type Caller, type RouteDescriptor } from './descriptor.js';
import { ADMIN, cp, NS, WS } from './routes-workspaces.js';

const ALL: readonly Caller[] = ['admin', 'namespace', 'workspace', 'billing'];
const BILLING: readonly Caller[] = ['admin', 'billing'];
const LOOKUP = WORKSPACE_LOOKUP;

/** An image of the library (ImageSummary of src/domain/images.ts). */
const imageObject = z.looseObject({ id: z.string(), name: z.string(), source: z.string(), size_bytes: z.number() });
/** A catalog entry (src/images/catalog.ts). */
const catalogEntry = z.looseObject({ id: z.string(), image: z.string() });
const IMAGE_ARCHIVE = ['IMAGE_ARCHIVE_INVALID', 'IMAGE_ARCHIVE_UNSAFE', 'IMAGE_TOO_LARGE', 'IMAGE_ARCHIVE_UNSUPPORTED',
  'image_name_reserved', 'conflict', 'insufficient_storage', 'not_found'] as const;
const images: RouteDescriptor[] = [
  cp('GET', '/workspace/images', WS, 'Image catalog', {
    query: imageListQuerySchema,
    responses: { 200: ok({ images: z.array(catalogEntry), categories: z.array(z.unknown()) }) },
  }),
  cp('POST', '/workspace/:id/image', ADMIN, 'Commit a workspace as an image', {
    body: commitImageSchema, responses: { 201: ok({ image: imageObject }) },
    errors: [...WORKSPACE_STATE, 'image_name_reserved', 'insufficient_storage', 'not_implemented'],
  }),
  cp('POST', '/images', ADMIN, 'Import an image (JSON {path,name} or an OCI/docker-save tar with ?name=)', {
    body: importPathSchema, bodyKind: 'json',
    query: importUploadQuerySchema,
    responses: { 201: ok({ image: imageObject }) }, errors: IMAGE_ARCHIVE,
  }),
  cp('DELETE', '/images/:name{.+}', ADMIN, 'Delete an image', {
    responses: { 200: ok({ deleted: z.literal(true) }) }, errors: ['image_not_found', 'image_in_use', 'image_name_reserved', 'validation_error'],
  }),
  cp('POST', '/images/build', ADMIN, 'Build an image from a Dockerfile and a tar context; build events as SSE', {
    bodyKind: 'tar',
    query: buildQuerySchema,
    responses: { 200: 'sse' },
    errors: ['DOCKERFILE_INVALID', 'DOCKERFILE_UNSUPPORTED', 'BUILD_CONTEXT_ESCAPE', 'BUILD_SOURCE_NOT_FOUND',
      'BUILD_BASE_NOT_FOUND', 'BUILD_STEP_FAILED', 'image_name_reserved', 'insufficient_storage', 'service_unavailable', 'conflict'],
  }),
];

const period = usagePeriodQuerySchema;
const usage: RouteDescriptor[] = [
  cp('GET', '/workspace/estimate', ALL, 'Cost estimate', {
    query: estimateQuerySchema,
  }),
  cp('GET', '/workspace/usage', ALL, 'Usage of every workspace in scope', { query: period }),
  cp('GET', '/workspace/activity', ALL, 'Lifecycle activity in scope', {
    query: activityQuerySchema,
  }),
  cp('GET', '/workspace/:id/activity', ALL, 'Lifecycle activity of one workspace', {
    query: activityQuerySchema.omit({ workspace_id: true }), responses: { 200: ok({ workspace_id: z.string() }) }, errors: LOOKUP,
  }),
  cp('GET', '/workspace/:id/usage', ALL, 'Usage series', { query: period, errors: LOOKUP }),
  cp('GET', '/workspace/:id/usage/totals', ALL, 'Usage totals', { query: period, errors: LOOKUP }),
  cp('GET', '/workspace/:id/usage/credits/chart', ALL, 'Credits chart', { query: period, errors: LOOKUP }),
  cp('DELETE', '/workspace/:id/usage', NS, 'Wipe usage data', { errors: LOOKUP }),
  cp('POST', '/workspace/:id/usage/tracking/start', NS, 'Start usage tracking', { errors: LOOKUP }),
  cp('POST', '/workspace/:id/usage/tracking/stop', NS, 'Stop usage tracking', { errors: LOOKUP }),
];

const RUNNING = [...LOOKUP, 'workspace_not_running', 'agent_unreachable'] as const;
const stats: RouteDescriptor[] = [
  cp('GET', '/workspace/:id/stats', WS, 'Live stats', { responses: { 200: ok({ stats: z.unknown() }) }, errors: RUNNING }),
  cp('GET', '/workspace/:id/stats/stream', WS, 'Live stats (SSE)', { responses: { 200: 'sse' }, errors: RUNNING }),
  cp('GET', '/workspace/:id/info', WS, 'Host facts of the workspace', { responses: { 200: ok({ info: z.unknown() }) }, errors: LOOKUP }),
  cp('GET', '/workspace/:id/config', WS, 'Workspace config', { responses: { 200: ok({ config: z.looseObject({}) }) }, errors: LOOKUP }),
];

const tail = tailQuerySchema;
const LOGS = '/workspace/:id/logs';
/** Log reads served by the workspace's agent: it can be stopped (or stopping) while the read runs. */
const LIVE_LOGS = [...LOOKUP, 'workspace_not_running', 'agent_unreachable'] as const;
const logs: RouteDescriptor[] = [
  cp('GET', LOGS, WS, 'Boot or command logs', {
    query: z.object({ ...logSourceQuerySchema.shape, ...tailQuerySchema.shape }),
    responses: { 200: ok({ source: z.string(), logs: z.array(z.unknown()), lines: z.array(z.string()) }) }, errors: LIVE_LOGS,
  }),
  cp('DELETE', LOGS, WS, 'Clear logs', { errors: LIVE_LOGS }),
  cp('GET', `${LOGS}/list`, WS, 'Log files', { responses: { 200: ok({ files: z.array(z.unknown()) }) }, errors: LIVE_LOGS }),
  cp('GET', `${LOGS}/file/*`, WS, 'One log file', { query: tail, responses: { 200: ok({ name: z.string(), content: z.string() }) }, errors: LIVE_LOGS }),
  cp('GET', `${LOGS}/stream/boot`, WS, 'Boot log (SSE)', { query: tail, responses: { 200: 'sse' }, errors: LOOKUP }),
  cp('GET', `${LOGS}/stream/cmd`, WS, 'Command log (SSE)', { query: tail, responses: { 200: 'sse' }, errors: LIVE_LOGS }),
];

const metadataReply = ok({ metadata: z.record(z.string(), z.string()) });
const metadata: RouteDescriptor[] = [
  cp('GET', '/workspace/:id/metadata', WS, 'Metadata', { responses: { 200: metadataReply }, errors: LOOKUP }),
  cp('PUT', '/workspace/:id/metadata', WS, 'Replace metadata', { body: metadataPutSchema, responses: { 200: metadataReply }, errors: [...LOOKUP, 'conflict'] }),
  cp('PATCH', '/workspace/:id/metadata', WS, 'Merge metadata', { body: metadataPatchSchema, responses: { 200: metadataReply }, errors: [...LOOKUP, 'conflict'] }),
];

const WL = '/workspace/:id/workloads';
const workloadReply = ok({ workload: z.looseObject({ id: z.string() }) });
const WL_ERRORS = [...LOOKUP, 'workload_not_found', 'workspace_not_running', 'agent_unreachable', 'invalid_state'] as const;
const workloads: RouteDescriptor[] = [
  cp('GET', `${WL}/stats/stream`, WS, 'Stats of every workload (SSE)', { responses: { 200: 'sse' }, errors: WL_ERRORS }),
  cp('POST', WL, WS, 'Create a workload', { body: workloadCreateSchema, responses: { 201: workloadReply }, errors: [...WL_ERRORS, 'workload_exists', 'workload_limit_reached', 'not_implemented'] }), // not_implemented: a user other than root
  cp('GET', WL, WS, 'List workloads', {
    query: workloadListQuerySchema,
    responses: { 200: ok({ workloads: z.array(z.unknown()), total: z.number().int() }) }, errors: LOOKUP,
  }),
  cp('DELETE', WL, WS, 'Delete every workload', { responses: { 200: ok({ deleted: z.number().int() }) }, errors: WL_ERRORS }),
  cp('GET', `${WL}/:wid`, WS, 'One workload', { responses: { 200: workloadReply }, errors: WL_ERRORS }),
  cp('PUT', `${WL}/:wid`, WS, 'Update a workload', { body: workloadUpdateSchema, responses: { 200: workloadReply }, errors: [...WL_ERRORS, 'not_implemented'] }),
  cp('PATCH', `${WL}/:wid`, WS, 'Update a workload', { body: workloadUpdateSchema, responses: { 200: workloadReply }, errors: [...WL_ERRORS, 'not_implemented'] }),
  cp('DELETE', `${WL}/:wid`, WS, 'Delete a workload', { responses: { 200: ok({ id: z.string() }) }, errors: WL_ERRORS }),
  cp('POST', `${WL}/:wid/start`, WS, 'Start a workload', { responses: { 200: workloadReply }, errors: WL_ERRORS }),
  cp('POST', `${WL}/:wid/stop`, WS, 'Stop a workload', { responses: { 200: workloadReply }, errors: WL_ERRORS }),
  cp('GET', `${WL}/:wid/status`, WS, 'Workload status', { responses: { 200: ok({ id: z.string(), status: z.string() }) }, errors: WL_ERRORS }),
  cp('GET', `${WL}/:wid/logs`, WS, 'Workload logs', { query: tail, responses: { 200: ok({ workload_id: z.string(), output: z.string() }) }, errors: WL_ERRORS }),
  cp('GET', `${WL}/:wid/logs/stream`, WS, 'Workload logs (SSE)', { query: tail, responses: { 200: 'sse' }, errors: WL_ERRORS }),
  cp('GET', `${WL}/:wid/stats`, WS, 'Workload stats', { responses: { 200: ok({ stats: z.unknown() }) }, errors: WL_ERRORS }),
  cp('GET', `${WL}/:wid/stats/stream`, WS, 'Workload stats (SSE)', { responses: { 200: 'sse' }, errors: WL_ERRORS }),
];

const namespaceObject = z.looseObject({ slug: z.string() });
const nsList = namespaceListQuerySchema;
const NS_ERRORS = ['not_found', 'conflict', 'INVALID_NAMESPACE'] as const;
const namespaces: RouteDescriptor[] = [
  cp('POST', '/namespaces', ADMIN, 'Create a namespace', { body: namespaceCreateSchema, responses: { 201: ok({ data: namespaceObject }) }, errors: NS_ERRORS }),
  cp('POST', '/namespaces/ensure', ADMIN, 'Create a namespace unless it exists', {
    body: namespaceCreateSchema, responses: { 200: ok({ created: z.boolean(), data: namespaceObject }), 201: ok({ created: z.boolean(), data: namespaceObject }) }, errors: NS_ERRORS,
  }),
  cp('GET', '/namespaces', NS, 'List namespaces', { query: nsList, responses: { 200: ok({ data: z.array(namespaceObject) }) } }),
  cp('GET', '/namespaces/:id', NS, 'One namespace', { responses: { 200: ok({ data: namespaceObject }) }, errors: NS_ERRORS }),
  cp('PUT', '/namespaces/:id', ADMIN, 'Update a namespace', { body: namespaceUpdateSchema, responses: { 200: ok({ data: namespaceObject }) }, errors: NS_ERRORS }),
  cp('DELETE', '/namespaces/:id', ADMIN, 'Delete a namespace', { errors: [...NS_ERRORS, 'bad_request'] }), // an optional body that is not JSON
  cp('POST', '/namespaces/:id/suspend', ADMIN, 'Suspend a namespace', { errors: NS_ERRORS }),
  cp('POST', '/namespaces/:id/activate', ADMIN, 'Activate a namespace', { errors: NS_ERRORS }),
  cp('POST', '/namespaces/:id/stop-workspaces', NS, 'Stop every workspace of a namespace', {
    whileSuspended: true, responses: { 200: ok({ count: z.number().int() }) }, errors: NS_ERRORS,
  }),
  cp('GET', '/namespaces/:id/activity', NS, 'Namespace activity', { query: pageQuerySchema, errors: NS_ERRORS }),
  cp('GET', '/namespaces/:id/usage', NS, 'Namespace usage', { query: daysQuerySchema, errors: NS_ERRORS }),
];

const QUOTA_ERRORS = ['not_found'] as const;
const quotas: RouteDescriptor[] = [
  cp('POST', '/credits/namespace-quota', BILLING, 'Set a namespace quota', { body: setQuotaSchema, errors: QUOTA_ERRORS }),
  cp('POST', '/credits/reset-quota', BILLING, 'Reset a quota\'s usage', { body: quotaKeySchema, errors: QUOTA_ERRORS }),
  cp('GET', '/credits/namespaces', BILLING, 'Namespaces with quotas', { query: nsList }),
  cp('GET', '/credits/namespaces/:namespace', BILLING, 'One namespace\'s quotas and usage', { query: daysQuerySchema, errors: QUOTA_ERRORS }),
  cp('POST', '/credits/defaults', BILLING, 'Set a default quota', { body: setDefaultQuotaSchema, errors: QUOTA_ERRORS }),
  cp('GET', '/credits/defaults', BILLING, 'One default quota', { query: defaultKeyQuerySchema, errors: QUOTA_ERRORS }),
  cp('GET', '/credits/defaults/all', BILLING, 'Every default quota', { query: defaultLevelQuerySchema }),
  cp('DELETE', '/credits/defaults', BILLING, 'Delete a default quota', { body: defaultKeySchema, errors: QUOTA_ERRORS }),
  cp('POST', '/credits/defaults/toggle-auto-apply', BILLING, 'Toggle auto-apply of a default quota', { body: toggleAutoApplySchema, errors: QUOTA_ERRORS }),
];

const tokens: RouteDescriptor[] = [
  cp('POST', '/tokens', NS, 'Issue a scoped token', {
    body: issueTokenSchema,
    responses: { 201: ok({ token: z.string() }) }, errors: ['not_found'],
  }),
  cp('GET', '/tokens', NS, 'List scoped tokens', { responses: { 200: ok({ tokens: z.array(z.unknown()), total: z.number().int() }) } }),
  cp('DELETE', '/tokens/:id', NS, 'Revoke a scoped token', { whileSuspended: true, errors: ['not_found'] }),
  cp('POST', '/tokens/signing-key/rotate', ADMIN, 'Rotate the token signing key', {
    body: rotateKeySchema, responses: { 200: ok({ key_id: z.string() }) },
  }),
  cp('POST', '/api-keys', ADMIN, 'Create an API key', {
    body: createApiKeySchema,
    responses: { 201: ok({ client_id: z.string(), client_secret: z.string() }) }, errors: ['not_found'],
  }),
  cp('GET', '/api-keys', ADMIN, 'List API keys', { responses: { 200: ok({ keys: z.array(z.unknown()), total: z.number().int() }) } }),
  cp('DELETE', '/api-keys/:clientId', ADMIN, 'Delete an API key', { errors: ['not_found', 'conflict'] }), // conflict: a key deleting itself
];

const NODE_ERRORS = ['node_not_found', 'validation_error'] as const;
const nodeReply = ok({ node: nodeObject });
const nodes: RouteDescriptor[] = [
  cp('GET', '/nodes', ADMIN, 'Registered nodes: state, heartbeat, capacity, allocation (empty on a single-process serve)', {
    responses: { 200: ok({ nodes: z.array(nodeObject), total: z.number().int() }) },
  }),
  cp('GET', '/nodes/:id', ADMIN, 'One node', { responses: { 200: nodeReply }, errors: NODE_ERRORS }),
  cp('POST', '/nodes/:id/drain', ADMIN, 'Drain a node: no new placements; its workspaces keep running', {
    responses: { 200: nodeReply }, errors: [...NODE_ERRORS, 'invalid_state'],
  }),
  cp('POST', '/nodes/:id/undrain', ADMIN, 'Undrain a node: it takes placements again', {
    responses: { 200: nodeReply }, errors: [...NODE_ERRORS, 'invalid_state'],
  }),
];

const publicRoutes: RouteDescriptor[] = [
  cp('GET', '/', [], 'Service banner', { responses: { 200: ok({ service: z.literal('warren') }) } }),
  cp('GET', '/healthz', [], 'Liveness', { responses: { 200: ok({ status: z.literal('ok') }) } }),
  cp('GET', '/metrics', [], 'Prometheus metrics (WARREN_METRICS_TOKEN or the admin key)', {
    responses: { 200: 'text' }, errors: ['unauthorized', 'forbidden'],
  }),
  cp('GET', '/openapi.json', [], 'This document', { responses: { 200: z.looseObject({ openapi: z.string() }) } }),
];

export const PLATFORM_ROUTES: readonly RouteDescriptor[] = [
  ...images, ...usage, ...stats, ...logs, ...metadata, ...workloads, ...namespaces, ...quotas, ...tokens, ...nodes, ...publicRoutes,
];
