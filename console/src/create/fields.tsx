/**
 * Labelled form controls that show an API message at the field: the control gets
 * `aria-invalid` and `aria-describedby` pointing at its message (and at its hint).
 * Ids are `<prefix>-<name>` so a form can focus the first field in error.
 */
import type { ComponentChildren, JSX } from 'preact';

export interface ControlAttrs {
  id: string;
  name: string;
  'aria-invalid': 'true' | undefined;
  'aria-describedby': string | undefined;
}

export function controlAttrs(prefix: string, name: string, error: string | undefined, hint?: string): ControlAttrs {
  const ids = [hint ? `${prefix}-${name}-hint` : '', error ? `${prefix}-${name}-error` : ''].filter(Boolean).join(' ');
  return { id: `${prefix}-${name}`, name, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': ids || undefined };
}

export function FieldMessage(props: { prefix: string; name: string; error?: string; hint?: string }) {
  return (
    <>
      {props.hint && <span class="hint" id={`${props.prefix}-${props.name}-hint`}>{props.hint}</span>}
      {props.error && <span class="field-error" id={`${props.prefix}-${props.name}-error`} role="alert">{props.error}</span>}
    </>
  );
}

/** A label above its control, then the hint and the error. */
export function Field(props: {
  prefix: string; name: string; label: string; hint?: string; error?: string;
  control: (a: ControlAttrs) => JSX.Element;
}) {
  const a = controlAttrs(props.prefix, props.name, props.error, props.hint);
  return (
    <div class="field">
      <label for={a.id}>{props.label}</label>
      {props.control(a)}
      <FieldMessage prefix={props.prefix} name={props.name} error={props.error} hint={props.hint} />
    </div>
  );
}

/** A checkbox with its label beside it. */
export function CheckField(props: {
  prefix: string; name: string; label: ComponentChildren; checked: boolean; error?: string; hint?: string;
  onChange: (v: boolean) => void; disabled?: boolean;
}) {
  const a = controlAttrs(props.prefix, props.name, props.error, props.hint);
  return (
    <div class="field check-field">
      <label class="check">
        <input type="checkbox" {...a} checked={props.checked} disabled={props.disabled} onChange={(e) => props.onChange(e.currentTarget.checked)} />
        <span>{props.label}</span>
      </label>
      <FieldMessage prefix={props.prefix} name={props.name} error={props.error} hint={props.hint} />
    </div>
  );
}

/** Focuses the first control in error (after the errors were rendered). */
export function focusFirstError(prefix: string, names: string[]): void {
  for (const n of names) {
    const el = document.getElementById(`${prefix}-${n}`);
    if (el) { el.focus(); return; }
  }
}
