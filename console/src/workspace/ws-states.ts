/**
 * Lifecycle states as the console treats them (src/domain/lifecycle.ts is the authority):
 * transitional states are passed through while an operation runs; no power action is
 * offered in them (a 409 would say so), and the page polls faster until they settle.
 */
export const TRANSITIONAL_STATES = [
  'creating', 'starting', 'pausing', 'resuming', 'stopping', 'restarting', 'restoring', 'destroying', 'deleting',
] as const;

export function isTransitional(state: string): boolean {
  return (TRANSITIONAL_STATES as readonly string[]).includes(state);
}

/** Delete is accepted from the settled states and while creating (it waits for the create). */
export function canDelete(state: string): boolean {
  return !isTransitional(state) || state === 'creating';
}
