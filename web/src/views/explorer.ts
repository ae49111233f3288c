// Explorer: the twin graph as a tree and a layered graph view, search by id or model, and a
// query box for the twin query language (docs/query.md) with results as a table.
import { post } from '../api';
import type { Json } from '../api';
import { clear, empty, errorBox, h, loading, svg } from '../dom';
import { formatValue } from '../format';
import { subscribe } from '../live';
import { shortModel } from '../models';
import { Graph, loadGraph, Status, STATUS_COLOURS, statusOf } from '../twins';

export async function explorerView(root: HTMLElement): Promise<(() => void) | void> {
  const treePane = h('div', { class: 'tree', role: 'tree' }, loading());
  const graphPane = h('div', { class: 'graph-view' }, loading());
  const results = h('div', { class: 'search-results' });
  const search = h('input', { type: 'search', placeholder: 'Search twins by id or model…', 'aria-label': 'Search twins', id: 'twin-search' });
  const queryText = h('textarea', { id: 'query', rows: 3, spellcheck: false, 'aria-label': 'Twin query' },
    "SELECT T.$dtId, T.state FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:doppel:example:windfarm:WindTurbine;1')");
  const queryOut = h('div', { class: 'query-results' });
  const runQuery = async () => {
    clear(queryOut, loading('Running…'));
    try {
      const answer = await post('/query', { query: queryText.value });
      clear(queryOut, resultTable(answer.value ?? []));
    } catch (e) {
      clear(queryOut, errorBox(e));
    }
  };
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const showPane = (which: 'tree' | 'graph') => {
    treePane.hidden = which !== 'tree';
    graphPane.hidden = which !== 'graph';
    tabs.querySelectorAll('button').forEach((b) => b.classList.toggle('active', b.dataset.pane === which));
  };
  tabs.append(
    h('button', { 'data-pane': 'tree', class: 'active', onclick: () => showPane('tree') }, 'Tree'),
    h('button', { 'data-pane': 'graph', onclick: () => showPane('graph') }, 'Graph'),
  );
  graphPane.hidden = true;

  const sitesBox = h('div', { class: 'sites' });
  root.append(
    sitesBox,
    h('div', { class: 'explorer' },
      h('section', { class: 'card twins-card' }, h('h2', null, 'Twins'), search, results, tabs, treePane, graphPane),
      h('section', { class: 'card query-card' }, h('h2', null, 'Query'),
        queryText,
        h('div', { class: 'row' },
          h('button', { id: 'run-query', onclick: runQuery }, 'Run query'),
          h('span', { class: 'hint' }, 'Ctrl+Enter runs it · docs/query.md')),
        queryOut)),
  );
  queryText.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void runQuery();
  });

  let graph: Graph;
  try {
    graph = await loadGraph(0);
  } catch (e) {
    clear(treePane, errorBox(e));
    clear(graphPane, errorBox(e));
    return;
  }
  if (graph.twins.size === 0) {
    clear(treePane, empty('No twins yet. Load some with `doppel load examples/wind-farm` (or run `make demo`).'));
    clear(graphPane, empty('No twins yet.'));
    return;
  }
  clear(treePane, ...graph.roots.map((id) => treeNode(graph, id, new Set(), 0)));
  const renderSites = () => clear(sitesBox, ...siteCards(graph));
  renderSites();
  clear(graphPane, graphView(graph));
  // State changes recolour the twins' dots as they happen.
  const unsubscribe = subscribe({ twins: [...graph.twins.keys()], events: ['properties'] }, (m: Json) => {
    const op = m.type === 'twin' && m.event === 'Twin.Update' ? (m.patch ?? []).find((p: Json) => p.path === '/state') : null;
    const twin = op ? graph.twins.get(m.twin) : undefined;
    if (!twin) return;
    twin.doc.state = op.value;
    renderSites();
    const colour = STATUS_COLOURS[statusOf(twin.doc)];
    root.querySelectorAll(`[data-twin="${CSS.escape(m.twin)}"]`).forEach((el) => {
      el.querySelectorAll<HTMLElement>('.dot').forEach((d) => (d.style.background = colour));
      el.querySelectorAll('circle').forEach((c) => c.setAttribute('fill', colour));
    });
  });
  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    if (!q) return clear(results);
    const hits = [...graph.twins.values()].filter(
      (t) => t.id.toLowerCase().includes(q) || t.model.toLowerCase().includes(q) || shortModel(t.model).toLowerCase().includes(q));
    clear(results, hits.length === 0 ? empty(`No twin matches '${search.value}'.`)
      : h('ul', { class: 'hits' }, ...hits.slice(0, 50).map((t) => h('li', null, twinLink(t.id, t.doc), ' ', h('span', { class: 'muted' }, shortModel(t.model))))));
  });
  return unsubscribe;
}

// One card per site (a root with assets that report a state): how many are in each state.
function siteCards(graph: Graph): HTMLElement[] {
  const cards: HTMLElement[] = [];
  for (const rootId of graph.roots) {
    const counts = new Map<Status, number>();
    const seen = new Set<string>();
    const walk = (id: string) => {
      if (seen.has(id)) return;
      seen.add(id);
      const t = graph.twins.get(id);
      if (t && id !== rootId && typeof t.doc.state === 'string') counts.set(statusOf(t.doc), (counts.get(statusOf(t.doc)) ?? 0) + 1);
      for (const r of graph.children.get(id) ?? []) walk(r.target);
    };
    walk(rootId);
    if (counts.size === 0) continue;
    const root = graph.twins.get(rootId)!;
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    cards.push(h('a', { class: 'card site', href: `#/twin/${encodeURIComponent(rootId)}`, 'data-site': rootId },
      h('strong', null, root.doc.name ?? rootId), h('span', { class: 'muted' }, ` ${shortModel(root.model)} · ${total} assets`),
      h('div', { class: 'site-counts' }, ...[...counts.entries()].sort().map(([status, n]) =>
        h('span', { title: status }, h('span', { class: 'dot', style: `background:${STATUS_COLOURS[status]}` }), `${n} ${status}`)))));
  }
  return cards;
}

function twinLink(id: string, doc: Json): HTMLElement {
  const status = statusOf(doc);
  return h('a', { href: `#/twin/${encodeURIComponent(id)}`, class: 'twin-link', 'data-twin': id },
    h('span', { class: 'dot', style: `background:${STATUS_COLOURS[status]}`, title: status }), id);
}

function treeNode(graph: Graph, id: string, seen: Set<string>, depth: number): HTMLElement {
  const twin = graph.twins.get(id)!;
  const label = h('span', { class: 'node-label' }, twinLink(id, twin.doc), ' ', h('span', { class: 'muted' }, shortModel(twin.model)));
  const kids = seen.has(id) ? [] : graph.children.get(id) ?? [];
  if (kids.length === 0) return h('div', { class: 'leaf', role: 'treeitem' }, label);
  const next = new Set(seen).add(id);
  return h('details', { open: depth < 1, role: 'treeitem' },
    h('summary', null, label, ' ', h('span', { class: 'count' }, String(kids.length))),
    ...kids.map((r) => h('div', { class: 'branch' }, h('span', { class: 'rel' }, r.name), treeNode(graph, r.target, next, depth + 1))));
}

// Layered layout: depth from the roots, siblings side by side; an SVG that scrolls.
function graphView(graph: Graph): Element {
  const depth = new Map<string, number>();
  const order: string[][] = [];
  const visit = (id: string, d: number) => {
    if (depth.has(id)) return;
    depth.set(id, d);
    (order[d] ??= []).push(id);
    for (const r of graph.children.get(id) ?? []) visit(r.target, d + 1);
  };
  graph.roots.forEach((r) => visit(r, 0));
  const colW = 190, rowH = 30;
  const pos = new Map<string, { x: number; y: number }>();
  let maxRows = 0;
  order.forEach((ids, d) => {
    ids.forEach((id, i) => pos.set(id, { x: 10 + d * colW, y: 20 + i * rowH }));
    maxRows = Math.max(maxRows, ids.length);
  });
  const width = order.length * colW + 20, height = maxRows * rowH + 30;
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'graph-svg', role: 'img', 'aria-label': 'Twin graph' });
  for (const r of graph.relationships) {
    const a = pos.get(r.source), b = pos.get(r.target);
    if (!a || !b) continue;
    const line = svg('path', { d: `M${a.x + 150},${a.y} C${a.x + 170},${a.y} ${b.x - 20},${b.y} ${b.x},${b.y}`, class: 'edge' });
    line.appendChild(svg('title', {}, document.createTextNode(r.name)));
    root.appendChild(line);
  }
  for (const [id, p] of pos) {
    const twin = graph.twins.get(id)!;
    const a = svg('a', { href: `#/twin/${encodeURIComponent(id)}`, class: 'node', 'data-twin': id },
      svg('circle', { cx: p.x + 6, cy: p.y, r: 6, fill: STATUS_COLOURS[statusOf(twin.doc)] }),
      svg('text', { x: p.x + 16, y: p.y + 4 }, document.createTextNode(id.length > 22 ? `${id.slice(0, 21)}…` : id)));
    a.appendChild(svg('title', {}, document.createTextNode(`${id} (${shortModel(twin.model)})`)));
    root.appendChild(a);
  }
  return root;
}

export function resultTable(rows: Json[]): HTMLElement {
  if (rows.length === 0) return empty('The query matched nothing.');
  const columns: string[] = [];
  for (const row of rows) for (const k of Object.keys(row)) if (!columns.includes(k) && k !== '$metadata') columns.push(k);
  const cell = (k: string, v: unknown) => {
    if (k === '$dtId' && typeof v === 'string') return h('td', null, h('a', { href: `#/twin/${encodeURIComponent(v)}` }, v));
    if (v && typeof v === 'object' && (v as Json).$dtId) {
      const id = (v as Json).$dtId;
      return h('td', null, h('a', { href: `#/twin/${encodeURIComponent(id)}` }, id), ' ', h('span', { class: 'muted' }, '{…}'));
    }
    return h('td', null, formatValue(v));
  };
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'results' },
      h('thead', null, h('tr', null, ...columns.map((c) => h('th', null, c)))),
      h('tbody', null, ...rows.map((row) => h('tr', null, ...columns.map((c) => cell(c, row[c])))))),
    h('div', { class: 'muted' }, `${rows.length} row${rows.length === 1 ? '' : 's'}`));
}
