// Alerts, work orders and recommendations (docs/alerts.md, work-orders.md, automation.md):
// filterable lists with their actions — acknowledge, comment, clear; start, complete,
// cancel, comment; approve, reject. Every action's API error is shown beside it.
import { enc, get, post, request } from '../api';
import type { Json } from '../api';
import { Child, clear, empty, errorBox, h, loading } from '../dom';
import { formatTime, formatValue } from '../format';
import { subscribe } from '../live';

interface Filter {
  name: string; // query parameter
  label: string;
  options?: [string, string][]; // value, label; absent = free text
  initial?: string;
}
interface Action {
  label: string;
  when: (item: Json) => boolean;
  prompt?: string; // asks for a text (comment) first; "" allowed unless `required`
  required?: boolean;
  run: (item: Json, text: string) => Promise<unknown>;
  primary?: boolean;
}
interface ListSpec {
  title: string;
  path: string; // GET list endpoint
  idOf: (item: Json) => string;
  filters: Filter[];
  columns: [string, (item: Json) => Node | string][];
  details: (item: Json) => Child[];
  actions: Action[];
  emptyText: string;
  kind: string;
  // A /ws subscription whose messages mean the list changed (alerts are pushed; docs/streams.md).
  live?: Json;
}

function listView(spec: ListSpec) {
  return async (root: HTMLElement, _params: string[], query: URLSearchParams): Promise<() => void> => {
    const controls = spec.filters.map((f) => {
      const initial = query.get(f.name) ?? f.initial ?? '';
      const el = f.options
        ? h('select', { 'aria-label': f.label, name: f.name }, ...f.options.map(([v, l]) => h('option', { value: v, selected: v === initial }, l)))
        : h('input', { type: 'search', placeholder: f.label, 'aria-label': f.label, name: f.name, value: initial, size: 14 });
      return { f, el };
    });
    const body = h('div', { class: 'ops-list' }, loading());
    const refreshButton = h('button', { class: 'secondary', onclick: () => void load() }, 'Refresh');
    root.append(h('h1', null, spec.title),
      h('div', { class: 'filters card' }, ...controls.map(({ f, el }) => h('label', null, f.label, el)), refreshButton),
      body);
    controls.forEach(({ el }) => el.addEventListener('change', () => void load()));

    let generation = 0;
    async function load(): Promise<void> {
      const mine = ++generation;
      const params = new URLSearchParams();
      for (const { f, el } of controls) if (el.value) params.set(f.name, el.value);
      try {
        const answer = await get(`${spec.path}${params.toString() ? `?${params}` : ''}`);
        if (mine !== generation) return;
        const items: Json[] = Array.isArray(answer) ? answer : answer.value ?? [];
        clear(body, items.length === 0 ? empty(spec.emptyText) : table(items));
      } catch (e) {
        if (mine !== generation) return;
        clear(body, errorBox(e, `${spec.title} cannot be listed`));
      }
    }

    function table(items: Json[]): HTMLElement {
      return h('div', { class: 'table-wrap' }, h('table', { class: 'results ops' },
        h('thead', null, h('tr', null, ...spec.columns.map(([c]) => h('th', null, c)), h('th', null, ''))),
        h('tbody', null, ...items.flatMap((item) => rows(item)))));
    }

    function rows(item: Json): HTMLElement[] {
      const id = spec.idOf(item);
      const detailRow = h('tr', { class: 'details', hidden: true }, h('td', { colspan: spec.columns.length + 1 }, ...spec.details(item)));
      const result = h('div', { class: 'action-result' });
      const perform = async (a: Action, button: HTMLButtonElement, text: string) => {
        button.disabled = true;
        clear(result, loading('…'));
        try {
          await a.run(item, text);
          clear(result, h('span', { class: 'ok' }, `${a.label}: done`));
          setTimeout(() => void load(), 300);
        } catch (e) {
          clear(result, errorBox(e));
          button.disabled = false;
        }
      };
      // An action that takes a text asks for it inline (a prompt dialog is poor on a tablet).
      const ask = (a: Action, button: HTMLButtonElement) => {
        const input = h('input', { type: 'text', placeholder: a.prompt, 'aria-label': a.prompt, class: 'action-text' });
        const confirm = h('button', { class: 'small', 'data-confirm': a.label.toLowerCase(), onclick: () => {
          const text = input.value.trim();
          if (a.required && !text) return clear(result, errorBox('a text is needed'), form);
          void perform(a, button, text);
        } }, a.label);
        const form = h('div', { class: 'action-form' }, input, confirm, h('button', { class: 'small link', onclick: () => clear(result) }, 'Cancel'));
        clear(result, form);
        input.focus();
      };
      const actions = spec.actions.filter((a) => a.when(item)).map((a) => {
        const button: HTMLButtonElement = h('button', { class: `small ${a.primary ? '' : 'secondary'}`, 'data-action': a.label.toLowerCase(),
          onclick: () => (a.prompt !== undefined ? ask(a, button) : void perform(a, button, '')) }, a.label);
        return button;
      });
      const toggle = h('button', { class: 'small link', 'aria-expanded': 'false', onclick: () => {
        detailRow.hidden = !detailRow.hidden;
        toggle.setAttribute('aria-expanded', String(!detailRow.hidden));
      } }, 'Details');
      const row = h('tr', { 'data-id': id, 'data-kind': spec.kind },
        ...spec.columns.map(([, f]) => h('td', null, f(item))),
        h('td', { class: 'actions' }, ...actions, toggle, result));
      return [row, detailRow];
    }

    await load();
    const timer = setInterval(() => void load(), 15000);
    let pending: ReturnType<typeof setTimeout> | null = null;
    const unsubscribe = spec.live
      ? subscribe(spec.live, (m: Json) => {
        if (m.type !== 'alert' || pending) return;
        pending = setTimeout(() => { pending = null; void load(); }, 300);
      })
      : () => undefined;
    return () => {
      clearInterval(timer);
      if (pending) clearTimeout(pending);
      unsubscribe();
    };
  };
}

const twinCell = (id: string) => (id ? h('a', { href: `#/twin/${enc(id)}` }, id) : '—');
const badge = (text: string, cls: string) => h('span', { class: `pill ${cls}` }, text);
const json = (v: unknown) => h('pre', { class: 'json' }, JSON.stringify(v, null, 2));
const historyList = (history: Json[] | undefined) => h('ul', { class: 'events' },
  ...(history ?? []).map((e) => h('li', null, `${formatTime(e.time)} · ${e.event}${e.by ? ` by ${e.by}` : ''}${e.detail ? `: ${e.detail}` : ''}`)));

export const alertsView = listView({
  title: 'Alerts', path: '/alerts', kind: 'alert', idOf: (a) => a.alertId, live: { alerts: true },
  emptyText: 'No alerts match. Rules raise them (docs/automation.md); so can POST /alerts.',
  filters: [
    { name: 'state', label: 'State', initial: 'open', options: [['open', 'open'], ['raised', 'raised'], ['acknowledged', 'acknowledged'], ['cleared', 'cleared'], ['', 'any']] },
    { name: 'severity', label: 'At least', options: [['', 'any severity'], ['warning', 'warning'], ['minor', 'minor'], ['major', 'major'], ['critical', 'critical']] },
    { name: 'twinId', label: 'Twin' },
  ],
  columns: [
    ['Severity', (a) => badge(a.severity, `sev-${a.severity}`)],
    ['Alert', (a) => h('span', null, h('strong', null, a.title), a.message ? h('div', { class: 'muted' }, a.message) : null)],
    ['Twin', (a) => twinCell(a.twinId)],
    ['State', (a) => badge(a.state, `state-${a.state}`)],
    ['Raised', (a) => h('span', null, formatTime(a.raisedTime), a.count > 1 ? h('span', { class: 'muted' }, ` ×${a.count}, last ${formatTime(a.lastRaisedTime)}`) : null)],
  ],
  details: (a) => [
    h('h3', null, 'Comments'), (a.comments ?? []).length ? h('ul', { class: 'events' }, ...a.comments.map((c: Json) => h('li', null, `${formatTime(c.time)} · ${c.author}: ${c.text}`))) : empty('No comments.'),
    h('h3', null, 'History'), historyList(a.history),
    h('h3', null, 'Evidence'), json(a.evidence),
  ],
  actions: [
    { label: 'Acknowledge', primary: true, when: (a) => a.state === 'raised', prompt: 'Comment (optional)', run: (a, text) => post(`/alerts/${enc(a.alertId)}/acknowledge`, { comment: text }) },
    { label: 'Comment', when: () => true, prompt: 'Comment', required: true, run: (a, text) => post(`/alerts/${enc(a.alertId)}/comments`, { text }) },
    { label: 'Clear', when: (a) => a.state !== 'cleared', prompt: 'Reason (optional)', run: (a, text) => post(`/alerts/${enc(a.alertId)}/clear`, { reason: text }) },
  ],
});

const updateWorkOrder = (w: Json, body: Json) => request('PATCH', `/workorders/${enc(w.workOrderId)}`, body, 'application/json');

export const workOrdersView = listView({
  title: 'Work orders', path: '/workorders', kind: 'workorder', idOf: (w) => w.workOrderId,
  emptyText: 'No work orders match. Rules open them with evidence (docs/work-orders.md).',
  filters: [
    { name: 'status', label: 'Status', initial: 'open', options: [['open', 'open'], ['inProgress', 'in progress'], ['done', 'done'], ['cancelled', 'cancelled'], ['', 'any']] },
    { name: 'priority', label: 'At least', options: [['', 'any priority'], ['medium', 'medium'], ['high', 'high'], ['urgent', 'urgent']] },
    { name: 'twinId', label: 'Twin' },
  ],
  columns: [
    ['Id', (w) => w.workOrderId],
    ['Priority', (w) => badge(w.priority, `prio-${w.priority}`)],
    ['Work', (w) => h('span', null, h('strong', null, w.title), w.reason ? h('div', { class: 'muted' }, w.reason) : null)],
    ['Asset', (w) => twinCell(w.twinId)],
    ['Status', (w) => badge(w.status, `state-${w.status}`)],
    ['Due', (w) => formatTime(w.dueTime)],
    ['Created', (w) => h('span', null, formatTime(w.createdTime), h('div', { class: 'muted' }, w.createdBy ?? ''))],
  ],
  details: (w) => [
    w.evidence?.rul ? h('p', null, `RUL ${formatValue(w.evidence.rul.value)} (${formatValue(w.evidence.rul.low)} – ${formatValue(w.evidence.rul.high)}) ${w.evidence.rul.unit ?? ''}`) : null,
    h('h3', null, 'History'), historyList(w.history),
    h('h3', null, 'Evidence'), json(w.evidence),
  ],
  actions: [
    { label: 'Start', primary: true, when: (w) => w.status === 'open', run: (w) => updateWorkOrder(w, { status: 'inProgress' }) },
    { label: 'Complete', primary: true, when: (w) => w.status === 'inProgress', prompt: 'What was done (optional)', run: (w, text) => updateWorkOrder(w, { status: 'done', comment: text }) },
    { label: 'Cancel', when: (w) => w.status === 'open' || w.status === 'inProgress', prompt: 'Why (optional)', run: (w, text) => updateWorkOrder(w, { status: 'cancelled', comment: text }) },
    { label: 'Comment', when: () => true, prompt: 'Comment', required: true, run: (w, text) => updateWorkOrder(w, { comment: text }) },
  ],
});

export const recommendationsView = listView({
  title: 'Recommendations', path: '/recommendations', kind: 'recommendation', idOf: (r) => r.recommendationId,
  emptyText: 'No recommendations match. Rules in recommend mode propose device actions here for approval (docs/automation.md).',
  filters: [
    { name: 'status', label: 'Status', initial: 'pending', options: [['pending', 'pending'], ['approved', 'approved'], ['executed', 'executed'], ['rejected', 'rejected'], ['expired', 'expired'], ['failed', 'failed'], ['', 'any']] },
    { name: 'twinId', label: 'Twin' },
  ],
  columns: [
    ['Rule', (r) => r.rule],
    ['Twin', (r) => twinCell(r.twinId)],
    ['Proposed', (r) => h('ul', { class: 'plain' }, ...(r.actions ?? []).map((a: Json) => h('li', null, describeAction(a))))],
    ['Status', (r) => badge(r.status, `state-${r.status}`)],
    ['Created', (r) => h('span', null, formatTime(r.createdTime), r.expiresTime ? h('div', { class: 'muted' }, `expires ${formatTime(r.expiresTime)}`) : null)],
    ['Decided', (r) => (r.decidedBy ? `${r.decidedBy} · ${formatTime(r.decidedTime)}${r.comment ? ` · ${r.comment}` : ''}` : '—')],
  ],
  details: (r) => [h('h3', null, 'Evidence'), json(r.evidence), h('h3', null, 'Results'), json(r.results ?? [])],
  actions: [
    { label: 'Approve', primary: true, when: (r) => r.status === 'pending', prompt: 'Comment (optional)', run: (r, text) => post(`/recommendations/${enc(r.recommendationId)}/approve`, { comment: text }) },
    { label: 'Reject', when: (r) => r.status === 'pending', prompt: 'Why (optional)', run: (r, text) => post(`/recommendations/${enc(r.recommendationId)}/reject`, { comment: text }) },
  ],
});

function describeAction(a: Json): string {
  if (a.type === 'setProperty') return `set ${a.property} = ${formatValue(a.value)}`;
  if (a.type === 'command') return `command ${a.command}${a.payload !== undefined ? ` (${formatValue(a.payload)})` : ''}`;
  return `${a.type ?? 'action'} ${JSON.stringify(a)}`;
}
