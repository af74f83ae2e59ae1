/**
 * A few helpers to build the panel's DOM without a framework.
 */
import { LabIcon } from '@jupyterlab/ui-components';

export type Child = Node | string | null | undefined | false;

export interface IProps {
  className?: string;
  title?: string;
  /** Written to `data-*` attributes. */
  data?: Record<string, string>;
  /** Other attributes (`role`, `aria-label`, `type` ...). */
  attrs?: Record<string, string>;
}

/** Creates an element with its properties and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: IProps = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) {
    node.className = props.className;
  }
  if (props.title) {
    node.title = props.title;
  }
  for (const [key, value] of Object.entries(props.data ?? {})) {
    node.dataset[key] = value;
  }
  for (const [key, value] of Object.entries(props.attrs ?? {})) {
    node.setAttribute(key, value);
  }
  append(node, ...children);
  return node;
}

/** Appends children, skipping empty ones; strings become text nodes. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    parent.appendChild(
      typeof child === 'string' ? document.createTextNode(child) : child
    );
  }
}

export interface IButtonOptions {
  className: string;
  /** Visible text; an icon-only button needs `title`. */
  label?: string;
  icon?: LabIcon;
  title?: string;
  disabled?: boolean;
  onClick: () => void;
}

/** A `<button type="button">` with an optional icon. */
export function button(options: IButtonOptions): HTMLButtonElement {
  const node = h('button', {
    className: `sm-magics-button ${options.className}`,
    title: options.title,
    attrs: { type: 'button' }
  });
  if (options.title && !options.label) {
    node.setAttribute('aria-label', options.title);
  }
  if (options.icon) {
    node.appendChild(
      options.icon.element({
        tag: 'span',
        className: 'sm-magics-button-icon',
        elementPosition: 'center',
        height: '16px',
        width: '16px'
      })
    );
  }
  if (options.label) {
    node.appendChild(h('span', { className: 'sm-magics-button-label' }, options.label));
  }
  node.disabled = !!options.disabled;
  node.addEventListener('click', event => {
    event.preventDefault();
    event.stopPropagation();
    if (!node.disabled) {
      options.onClick();
    }
  });
  return node;
}

/** A checkbox calling `onChange` with its new state. */
export function checkbox(options: {
  className: string;
  checked: boolean;
  disabled?: boolean;
  title: string;
  onChange: (checked: boolean) => void;
}): HTMLInputElement {
  const node = h('input', {
    className: options.className,
    title: options.title,
    attrs: { type: 'checkbox', 'aria-label': options.title }
  });
  node.checked = options.checked;
  node.disabled = !!options.disabled;
  node.addEventListener('change', () => options.onChange(node.checked));
  return node;
}
