/**
 * A confirmation dialog on the native <dialog> element (focus trapped and Escape handled by
 * the browser). `useConfirm()` returns an async `confirm(text)` and the element to render.
 */
import { useRef, useState } from 'preact/hooks';

interface Pending { text: string; action: string; resolve: (ok: boolean) => void }

export function useConfirm() {
  const [pending, setPending] = useState<Pending | null>(null);
  const ref = useRef<HTMLDialogElement>(null);
  const confirm = (text: string, action = 'Confirm') => new Promise<boolean>((resolve) => {
    setPending({ text, action, resolve });
    queueMicrotask(() => ref.current?.showModal?.());
  });
  const close = (ok: boolean) => {
    ref.current?.close?.();
    pending?.resolve(ok);
    setPending(null);
  };
  const element = (
    <dialog ref={ref} class="confirm" onCancel={(e) => { e.preventDefault(); close(false); }} aria-label="Confirm">
      {pending && (
        <form method="dialog" onSubmit={(e) => { e.preventDefault(); close(true); }}>
          <p>{pending.text}</p>
          <div class="row end">
            <button type="button" class="secondary" onClick={() => close(false)}>Cancel</button>
            <button type="submit" class="danger" autofocus>{pending.action}</button>
          </div>
        </form>
      )}
    </dialog>
  );
  return { confirm, element };
}
