/**
 * Descriptors of the runtime API (runtime.md) as reached through the gateway on the control
 * plane's origin: the caller presents a gateway token, raw token or 30-day workspace token
 * (`Authorization: Bearer …` or `?token=`), and the gateway forwards to the workspace's agent.
 * Every path is also served under `/runtimes/{target}/…` (runtime.md §0.1). Request bodies
 * are parsed by the agent (src/agent/routes/*), which answers the same error envelope.
 */
import { z } from 'zod';
import { body, ok, query, type RouteDescriptor } from './descriptor.js';
import type { ErrorCode } from '../errors.js';

type Extra = Partial<Omit<RouteDescriptor, 'api' | 'method' | 'path' | 'summary' | 'callers'>>;

/** A runtime descriptor; success is `200 ok()` unless given. `callers` stands for "a runtime token". */
function rt(method: RouteDescriptor['method'], path: string, summary: string, extra: Extra = {}): RouteDescriptor {
  return { api: 'runtime', method, path, callers: ['workspace'], summary, responses: { 200: ok() }, errors: [], ...extra };
}

const FILE_ERRORS: readonly ErrorCode[] = ['not_found', 'forbidden', 'conflict', 'bad_request', 'payload_too_large', 'validation_error'];
const TASK_ERRORS: readonly ErrorCode[] = ['not_found', 'rate_limited', 'spawn_failed', 'bad_request'];
const task = ok({ id: z.string(), status: z.enum(['pending', 'running', 'exited', 'failed']) });
const pathQuery = query({ path: 'Absolute path in the workspace' });

const health: RouteDescriptor[] = [
  { ...rt('GET', '/health', 'Agent liveness (no auth)'), callers: [], responses: { 200: ok({ status: z.literal('ok') }) } },
  rt('GET', '/runtime', 'Runtime info', { responses: { 200: z.looseObject({}) } }),
  rt('GET', '/runtimes', 'Runtime targets', { responses: { 200: z.looseObject({}) } }),
];

const files: RouteDescriptor[] = [
  rt('GET', '/files', 'List a directory', {
    query: query({ path: '', recursive: 'true | false', include_hidden: '', include_content: '', max_depth: '', limit: '' }),
    responses: { 200: ok({ path: z.string() }) }, errors: FILE_ERRORS,
  }),
  rt('GET', '/files/list', 'List a directory (alias)', { query: pathQuery, responses: { 200: ok({ path: z.string() }) }, errors: FILE_ERRORS }),
  rt('GET', '/files/stream', 'List a directory as NDJSON', { query: pathQuery, responses: { 200: 'ndjson' }, errors: FILE_ERRORS }),
  rt('GET', '/files/read', 'Read a file', {
    query: query({ path: '', start_line: '', end_line: '', with_line_numbers: '' }),
    responses: { 200: ok({ path: z.string(), content: z.string() }) }, errors: FILE_ERRORS,
  }),
  ...(['POST', 'PUT'] as const).map((m) => rt(m, '/files/write', 'Write a file', {
    body: body({ path: z.string(), content: z.string(), create_dirs: z.boolean().optional(), append: z.boolean().optional(), encoding: z.string().optional() }),
    responses: { 201: ok({ path: z.string(), size: z.number().int() }) }, errors: FILE_ERRORS,
  })),
  rt('POST', '/files/mkdir', 'Make a directory', { body: body({ path: z.string() }), responses: { 201: ok({ path: z.string() }) }, errors: FILE_ERRORS }),
  rt('GET', '/files/stat', 'Stat a path', { query: pathQuery, responses: { 200: ok({ path: z.string() }) }, errors: FILE_ERRORS }),
  ...(['POST', 'DELETE'] as const).map((m) => rt(m, '/files/delete', 'Delete a path', {
    body: body({ path: z.string(), recursive: z.boolean().optional() }), responses: { 200: ok({ path: z.string() }) }, errors: FILE_ERRORS,
  })),
  rt('GET', '/files/search', 'Content search', { query: query({ query: '', path: '', limit: '' }), errors: FILE_ERRORS }),
  rt('GET', '/files/search/files', 'File name search', { query: query({ query: '', path: '', limit: '' }), errors: FILE_ERRORS }),
  rt('GET', '/files/search/init', 'Search index status'),
  rt('POST', '/files/search/init', 'Install search'),
  rt('POST', '/files/transfer/download', 'Download paths as tar.gz', {
    body: body({ paths: z.array(z.string()).optional(), path: z.string().optional() }), responses: { 200: 'binary' }, errors: FILE_ERRORS,
  }),
  rt('POST', '/files/transfer/upload', 'Upload a tar.gz into a directory', {
    bodyKind: 'binary', query: query({ dest: 'Directory to unpack into' }), errors: FILE_ERRORS,
  }),
];

const execBody = body({
  cmd: z.array(z.string()).min(1), exec_mode: z.enum(['auto', 'shell', 'direct']).optional(),
  timeout_seconds: z.number().optional(), ttl_seconds: z.number().optional(), keep_logs: z.boolean().optional(),
  stream: z.boolean().optional(), env: z.record(z.string(), z.string()).optional(), cwd: z.string().optional(),
});
const exec: RouteDescriptor[] = [
  rt('POST', '/exec', 'Run a command (SSE when stream is true)', { body: execBody, responses: { 200: task }, errors: TASK_ERRORS }),
  rt('GET', '/exec', 'List tasks', { responses: { 200: ok({ tasks: z.array(z.unknown()) }) } }),
  rt('DELETE', '/exec', 'Delete every task', { responses: { 200: ok({ deleted: z.number().int() }) } }),
  rt('GET', '/exec/:id', 'One task', { responses: { 200: task }, errors: TASK_ERRORS }),
  rt('DELETE', '/exec/:id', 'Kill and forget a task', { errors: TASK_ERRORS }),
  rt('POST', '/exec/:id/input', 'Write to a task\'s stdin', { bodyKind: 'binary', errors: TASK_ERRORS }),
  rt('POST', '/exec/stream', 'Run a command; output as SSE', { body: execBody, responses: { 200: 'sse' }, errors: TASK_ERRORS }),
  rt('GET', '/exec/stream', 'Attach to a task\'s output (SSE)', { query: query({ task_id: '' }), responses: { 200: 'sse' }, errors: TASK_ERRORS }),
];

const terminals: RouteDescriptor[] = [
  rt('POST', '/terminals', 'Open a terminal', {
    body: body({ command: z.union([z.string(), z.array(z.string())]).optional(), cols: z.number().int().optional(), rows: z.number().int().optional() }),
    responses: { 201: ok({ id: z.string() }) }, errors: TASK_ERRORS,
  }),
  rt('GET', '/terminals', 'List terminals', { responses: { 200: ok({ terminals: z.array(z.unknown()) }) } }),
  rt('DELETE', '/terminals/:id', 'Close a terminal', { responses: { 200: ok({ terminal_id: z.string() }) }, errors: TASK_ERRORS }),
  rt('GET', '/terminals/:id/scrollback', 'Terminal scrollback', { query: query({ bytes: '' }), errors: TASK_ERRORS }),
  rt('PATCH', '/terminals/:id/scrollback', 'Set the scrollback size', { body: body({ scrollback_size: z.number().int() }), errors: TASK_ERRORS }),
  rt('DELETE', '/terminals/:id/scrollback', 'Clear the scrollback', { errors: TASK_ERRORS }),
  rt('POST', '/terminals/:id/resize', 'Resize a terminal', { body: body({ cols: z.number().int(), rows: z.number().int() }), errors: TASK_ERRORS }),
];

const watchers: RouteDescriptor[] = [
  rt('POST', '/watchers', 'Watch a path', { body: body({ path: z.string(), recursive: z.boolean().optional() }), errors: FILE_ERRORS }),
  rt('GET', '/watchers', 'List watchers', { responses: { 200: ok({ watchers: z.array(z.unknown()) }) } }),
  rt('GET', '/watchers/:id', 'One watcher', { errors: ['not_found'] }),
  rt('DELETE', '/watchers/:id', 'Stop a watcher', { errors: ['not_found'] }),
];

const live: RouteDescriptor[] = [
  rt('GET', '/ws', 'Multiplexed WebSocket: terminal I/O (binary frames), JSON control and events (runtime.md §9)', {
    query: query({ token: 'The runtime token (browsers cannot set headers)' }), responses: { 101: 'websocket' },
  }),
  rt('GET', '/proxy/*', 'Reverse proxy to a loopback service (port in header, query or path; any method, WebSocket too)', {
    responses: { 200: 'binary' }, errors: ['upstream_unreachable', 'bad_request', 'method_not_allowed', 'gateway_timeout'],
  }),
];

export const RUNTIME_ROUTES: readonly RouteDescriptor[] = [...health, ...files, ...exec, ...terminals, ...watchers, ...live];
