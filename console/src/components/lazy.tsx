/**
 * A component loaded on first use (xterm.js and uPlot stay out of the first load). The
 * module's default export is the component.
 */
import type { ComponentType, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorBox, Loading } from './status.js';

export function lazy<P extends object>(load: () => Promise<{ default: ComponentType<P> }>, label = 'Loading…') {
  let cached: ComponentType<P> | null = null;
  return function Lazy(props: P): JSX.Element {
    const [Comp, setComp] = useState<ComponentType<P> | null>(() => cached);
    const [error, setError] = useState<unknown>(null);
    useEffect(() => {
      if (Comp) return;
      load().then((m) => { cached = m.default; setComp(() => m.default); }, setError);
    }, []);
    if (error) return <ErrorBox error={error} />;
    if (!Comp) return <Loading label={label} />;
    return <Comp {...props} />;
  };
}
