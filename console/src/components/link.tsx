import type { ComponentChildren } from 'preact';
import { hrefOf, linkClick, type Route } from '../router.js';

/** An in-app link: a real <a href> (keyboard, middle click, copy link all work). */
export function Link(props: { to: Route | string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }) {
  const href = typeof props.to === 'string' ? props.to : hrefOf(props.to);
  return (
    <a href={href} class={props.class} aria-current={props['aria-current']} onClick={(e) => linkClick(e, href)}>
      {props.children}
    </a>
  );
}
