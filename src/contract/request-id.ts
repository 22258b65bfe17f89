/**
 * Request ids, shared by the control plane, the runtime gateway and the agent. An id names
 * one request in the log and in a 5xx answer, so an operator can find the detail a client
 * was not shown. A caller's `x-request-id` is kept when it is a short token (the gateway
 * forwards its id to the agent, so both logs name the same request); anything else (too
 * long, spaces, control characters that could forge log lines) is replaced.
 */
import { randomBytes } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';

const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

export function newRequestId(): string {
  return `req_${randomBytes(8).toString('hex')}`;
}

/** The caller's id when it is a safe token, else a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && ACCEPTED.test(value) ? value : newRequestId();
}
