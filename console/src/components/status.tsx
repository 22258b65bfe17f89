/** Loading and error states, the same everywhere. */
import type { ComponentChildren } from 'preact';
import { describe } from '../api/errors.js';

export function Loading(props: { label?: string }) {
  return <p class="loading" role="status" aria-live="polite"><span class="spinner" aria-hidden="true" />{props.label ?? 'Loading…'}</p>;
}

export function ErrorBox(props: { error: unknown; retry?: () => void }) {
  if (!props.error) return null;
  return (
    <div class="error-box" role="alert">
      <span>{describe(props.error)}</span>
      {props.retry && <button type="button" class="secondary" onClick={props.retry}>Retry</button>}
    </div>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}

/**
 * The states of one loaded list around its content: the error with Retry, Loading until the
 * first answer, and `empty` when the answer held nothing (`isEmpty`).
 */
export function ListStatus(props: {
  state: { data: unknown; error: unknown; reload: () => void };
  loading: string;
  isEmpty: boolean;
  empty: ComponentChildren;
}) {
  const { data, error, reload } = props.state;
  return (
    <>
      {error && <ErrorBox error={error} retry={reload} />}
      {!data && !error && <Loading label={props.loading} />}
      {data && props.isEmpty && <Empty>{props.empty}</Empty>}
    </>
  );
}

/** A state name as a coloured badge (running, stopped, paused, failed, …). */
export function StateBadge(props: { state: string }) {
  return <span class={`badge state-${props.state.replace(/[^a-z_-]/gi, '')}`}>{props.state}</span>;
}
