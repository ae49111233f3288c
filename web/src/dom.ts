// A tiny element builder: h('div', {class: 'x', onclick: f}, 'text', child).
type Attrs = Record<string, unknown>;
export type Child = Node | string | number | null | undefined | false | Child[];

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2), value as EventListener);
      } else if (key === 'class') {
        el.className = String(value);
      } else if (key === 'dataset' && typeof value === 'object') {
        Object.assign(el.dataset, value);
      } else if (key in el && typeof value !== 'string') {
        (el as unknown as Record<string, unknown>)[key] = value;
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Node[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c);
  return el;
}

// A muted placeholder while something loads.
export function loading(what = 'Loading…'): HTMLElement {
  return h('div', { class: 'loading', role: 'status' }, what);
}

// An empty state: says there is nothing, and why it could be.
export function empty(text: string): HTMLElement {
  return h('div', { class: 'empty' }, text);
}

// An API or client error, shown where the data would have been.
export function errorBox(error: unknown, what?: string): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  return h('div', { class: 'error', role: 'alert' }, what ? `${what}: ${message}` : message);
}

// A section with a title and a body that shows "Loading…" until `fill` resolves, and the error
// if it throws.
export function section(title: string, fill: (body: HTMLElement) => Promise<void> | void, cls = ''): HTMLElement {
  const body = h('div', { class: 'section-body' }, loading());
  const el = h('section', { class: `card ${cls}` }, h('h2', null, title), body);
  Promise.resolve()
    .then(() => fill(body))
    .catch((e) => clear(body, errorBox(e)));
  return el;
}
