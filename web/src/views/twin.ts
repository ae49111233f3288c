// Twin view: live properties and telemetry (/ws), history charts with zoom and pan, measured
// vs simulated with the residual, anomaly scores and events, RUL with its band, KPI tiles,
// commands and writable properties with the safety envelope.
import { enc, get, listAll, patch, post } from '../api';
import type { Json } from '../api';
import { append, clear, empty, errorBox, h, loading, section } from '../dom';
import { formatTime, formatValue, percent, toMillis } from '../format';
import { subscribe } from '../live';
import { Content, isA, labelOf, modelOf, shortModel, unitOf } from '../models';
import { invalidateGraph, loadGraph, pathTo, STATUS_COLOURS, statusOf } from '../twins';
import { ChartHandle, historyChart, Marker, SeriesRef } from './chart';

export async function twinView(root: HTMLElement, [id]: string[]): Promise<() => void> {
  const disposers: (() => void)[] = [];
  const charts: ChartHandle[] = [];
  const doc = await get(`/digitaltwins/${enc(id)}`);
  const model: string = doc.$metadata?.$model ?? '';
  const graph = await loadGraph().catch(() => null);
  const crumbs = graph ? pathTo(graph, id) : [id];
  const status = statusOf(doc);
  const stateBadge = h('span', { class: 'badge', style: `background:${STATUS_COLOURS[status]}`, 'data-field': 'state', hidden: doc.state === undefined }, doc.state ?? '');
  const bindings = await listAll('/simulation/bindings').catch(() => [] as Json[]);
  const covering = bindings.filter((b: Json) => (b.twins?.ids ?? []).includes(id) || (b.twins?.model && isA(model, b.twins.model)));

  root.append(
    h('nav', { class: 'crumbs' }, h('a', { href: '#/explorer' }, 'Explorer'),
      ...crumbs.map((c) => [' › ', c === id ? h('strong', null, c) : h('a', { href: `#/twin/${enc(c)}` }, c)])),
    h('div', { class: 'twin-head' },
      h('h1', null, id), stateBadge, h('span', { class: 'muted' }, shortModel(model)),
      h('span', { class: 'spacer' }),
      covering.length > 0 ? h('a', { class: 'button', href: `#/whatif/${enc(id)}` }, 'What-if…') : null,
      h('a', { class: 'button secondary', href: `#/alerts?twinId=${enc(id)}&state=` }, 'Alerts')),
  );

  const grid = h('div', { class: 'twin-grid' });
  root.append(grid);

  // Live telemetry tiles.
  const tiles = new Map<string, HTMLElement>();
  const telemetryBody = h('div', { class: 'tiles' }, loading());
  const setTile = (path: string, value: unknown, time: string) => {
    let tile = tiles.get(path);
    if (!tile) {
      tile = h('div', { class: 'tile', 'data-path': path },
        h('div', { class: 'tile-label' }, labelOf(model, path)),
        h('div', { class: 'tile-value' }), h('div', { class: 'tile-time muted' }));
      tiles.set(path, tile);
      const sorted = [...tiles.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, t]) => t);
      clear(telemetryBody, ...sorted);
    }
    const unit = unitOf(model, path);
    tile.querySelector('.tile-value')!.textContent = `${formatValue(value)}${unit ? ` ${unit}` : ''}`;
    tile.querySelector('.tile-time')!.textContent = formatTime(time);
    tile.classList.remove('flash');
    void tile.offsetWidth;
    tile.classList.add('flash');
  };
  grid.append(h('section', { class: 'card wide' }, h('h2', null, 'Live telemetry'), telemetryBody));
  try {
    const live = await get(`/digitaltwins/${enc(id)}/telemetry`);
    const entries = Object.entries(live.telemetry ?? {}) as [string, Json][];
    if (entries.length === 0) clear(telemetryBody, empty('No telemetry received yet; values appear here as they arrive.'));
    for (const [path, v] of entries) setTile(path, v.value, v.time);
  } catch (e) {
    clear(telemetryBody, errorBox(e));
  }

  // Properties, with the writable ones editable.
  const propsBody = h('div', null);
  grid.append(h('section', { class: 'card' }, h('h2', null, 'Properties'), propsBody));
  // The safety envelope's bounds, for twins with writable properties (set points).
  const hasSetPoints = [...(modelOf(model)?.contents.values() ?? [])].some((c) => c.kind === 'Property' && c.writable);
  const envelope = hasSetPoints
    ? await get(`/digitaltwins/${enc(id)}/envelope`).then((e) => ({ ok: true, value: e }), (e: Error) => ({ ok: false, value: e.message }))
    : { ok: true, value: {} };
  const renderProps = (current: Json) => clear(propsBody, propertiesTable(id, model, current, envelope, async () => {
    const fresh = await get(`/digitaltwins/${enc(id)}`);
    renderProps(fresh);
  }));
  renderProps(doc);

  // This twin's open alerts, reloaded when one is pushed over /ws.
  const alertsBody = h('div', null, loading());
  const loadAlerts = async () => {
    try {
      const answer = await get(`/alerts?twinId=${enc(id)}&state=open&limit=20`);
      const items: Json[] = answer.value ?? [];
      clear(alertsBody, items.length === 0 ? empty('No open alerts.') : h('ul', { class: 'plain alerts' },
        ...items.map((a) => h('li', { 'data-alert': a.alertId }, h('span', { class: `pill sev-${a.severity}` }, a.severity), ' ', a.title,
          h('span', { class: 'muted' }, ` · ${a.state} · ${formatTime(a.lastRaisedTime)}${a.count > 1 ? ` · ×${a.count}` : ''}`)))),
      h('a', { href: `#/alerts?twinId=${enc(id)}` }, 'Acknowledge or comment in Alerts →'));
    } catch (e) {
      clear(alertsBody, errorBox(e));
    }
  };
  grid.append(h('section', { class: 'card' }, h('h2', null, 'Open alerts'), alertsBody));
  void loadAlerts();

  disposers.push(subscribe({ twins: [id] }, (m: Json) => {
    if (m.type === 'alert') void loadAlerts();
    else if (m.type === 'telemetry') setTile(m.path, m.value, m.time);
    else if (m.type === 'twin' && m.event === 'Twin.Update') {
      for (const op of m.patch ?? []) {
        const key = String(op.path ?? '').replace(/^\//, '');
        if (op.op === 'remove') delete doc[key];
        else if (key && !key.includes('/')) doc[key] = op.value;
      }
      const s = statusOf(doc);
      stateBadge.textContent = doc.state ?? '';
      stateBadge.hidden = doc.state === undefined;
      stateBadge.style.background = STATUS_COLOURS[s];
      renderProps(doc);
      invalidateGraph();
    } else if (m.type === 'error') {
      clear(telemetryBody, errorBox(m.message, 'live stream'));
    }
  }));

  // Analytics: anomaly scores, RUL with its band, KPI tiles.
  const anomalies: Marker[] = [];
  grid.append(section('Analytics', async (body) => {
    const a = await get(`/digitaltwins/${enc(id)}/analytics`);
    const parts: HTMLElement[] = [];
    for (const [name, d] of Object.entries(a.anomaly ?? {}) as [string, Json][]) {
      const score = typeof d.score === 'number' ? d.score : null;
      parts.push(h('div', { class: `tile ${score !== null && score >= 0.9 ? 'bad' : score !== null && score >= 0.5 ? 'warn' : ''}`, 'data-anomaly': name },
        h('div', { class: 'tile-label' }, `Anomaly score · ${name}`),
        h('div', { class: 'tile-value' }, score === null ? '—' : score.toFixed(2)),
        h('div', { class: 'muted' }, d.evidence ? `${d.evidence.signal ?? ''} ${formatValue(d.evidence.value)} (normal ${formatValue(d.evidence.low)} – ${formatValue(d.evidence.high)})` : ''),
        h('div', { class: 'tile-time muted' }, formatTime(d.time))));
    }
    for (const [name, r] of Object.entries(a.rul ?? {}) as [string, Json][]) parts.push(rulTile(name, r));
    const events = await get(`/analytics/anomalies?twin=${enc(id)}&limit=50`).catch(() => null);
    for (const e of events?.value ?? []) anomalies.push({ time: toMillis(e.time), label: `${e.detector} ${e.score?.toFixed?.(2)}` });
    const list = (events?.value ?? []).slice(0, 5);
    clear(body, parts.length ? h('div', { class: 'tiles' }, ...parts) : empty('No detector or RUL model covers this twin.'),
      list.length ? h('div', null, h('h3', null, 'Recent anomaly events'),
        h('ul', { class: 'events' }, ...list.map((e: Json) => h('li', null, `${formatTime(e.time)} · ${e.detector} · score ${formatValue(e.score)}`)))) : null);
    charts.forEach((c) => c.element.dispatchEvent(new Event('redraw')));
  }));
  grid.append(section('KPIs (last 8 hours)', async (body) => {
    const k = await get(`/digitaltwins/${enc(id)}/kpis`);
    const kpis = k.kpis ?? {};
    const order: [string, string, (v: unknown) => string][] = [
      ['oee', 'OEE', percent], ['availability', 'Availability', percent], ['performance', 'Performance', percent],
      ['quality', 'Quality', percent], ['capacityFactor', 'Capacity factor', percent],
      ['timeAvailability', 'Time availability', percent], ['utilisation', 'Utilisation', percent],
      ['mtbfHours', 'MTBF', (v) => `${formatValue(v)} h`], ['mttrHours', 'MTTR', (v) => `${formatValue(v)} h`],
      ['energyPerGoodUnit', 'Energy per good unit', (v) => `${formatValue(v)} kWh`],
    ];
    const shown = order.filter(([key]) => kpis[key] !== undefined);
    clear(body, shown.length === 0 ? empty('No KPI definition covers this twin.')
      : h('div', { class: 'tiles' }, ...shown.map(([key, label, fmt]) => h('div', { class: 'tile kpi', 'data-kpi': key },
        h('div', { class: 'tile-label' }, label), h('div', { class: 'tile-value' }, fmt(kpis[key]))))),
    shown.length && k.from ? h('div', { class: 'muted' }, `${formatTime(k.from)} – ${formatTime(k.to)}`) : null);
  }));

  // Simulation: shadow state and the measured-vs-simulated overlays.
  const overlays: SeriesRef[][] = [];
  if (covering.length > 0) {
    grid.append(section('Simulation (shadow mode)', async (body) => {
      const sim = await get(`/digitaltwins/${enc(id)}/simulation`);
      const rows: HTMLElement[] = [];
      for (const b of sim.bindings ?? []) {
        const last = b.last ?? {};
        if (b.shadow === false) {
          rows.push(h('div', null, `${b.binding} · ${b.model}: what-if and forecasts only (no shadow run). `,
            h('a', { href: `#/whatif/${enc(id)}` }, 'Run a what-if →')));
          continue;
        }
        rows.push(h('div', { class: 'muted' }, `${b.binding} · ${b.model} · ${b.status}${b.lastError ? ` · ${b.lastError}` : ''} · ${formatTime(last.time)}`));
        const names = Object.keys(last.expected ?? {});
        if (names.length) {
          rows.push(h('table', { class: 'kv' }, h('thead', null, h('tr', null, h('th', null, 'variable'), h('th', null, 'expected'), h('th', null, 'residual'))),
            h('tbody', null, ...names.map((n) => h('tr', null, h('td', null, n),
              h('td', null, `${formatValue(last.expected[n]?.value)} ± ${formatValue(last.expected[n]?.stddev)}`),
              h('td', null, formatValue(last.residuals?.[n])))))));
        }
        const est = { ...(last.virtualSensors ?? {}), ...(last.estimates ?? {}) };
        if (Object.keys(est).length) {
          rows.push(h('h3', null, 'Estimates'), h('table', { class: 'kv' }, h('tbody', null,
            ...Object.entries(est).map(([n, v]: [string, Json]) => h('tr', null, h('td', null, n), h('td', null, `${formatValue(v.value)} ± ${formatValue(v.stddev)}`))))));
        }
      }
      clear(body, rows.length ? rows : empty('No simulation runs for this twin yet.'));
    }));
    for (const b of covering) {
      const def = b.name ? await get(`/simulation/bindings/${enc(b.name)}`).catch(() => b) : b;
      for (const [name, m] of Object.entries(def.measurements ?? {}) as [string, Json][]) {
        if (!m.expected) continue;
        const measured = resolvePath(graph, id, m.path);
        if (!measured) continue;
        const set: SeriesRef[] = [
          { twin: measured.twin, path: measured.path, label: `${name} measured`, unit: unitOf(graph?.twins.get(measured.twin)?.model ?? model, measured.path) },
          { twin: id, path: m.expected, label: `${name} simulated`, unit: unitOf(model, m.expected), dash: true },
        ];
        overlays.push(set);
        if (m.residual) overlays.push([{ twin: id, path: m.residual, label: `${name} residual`, unit: unitOf(model, m.residual), colour: '#a347c7' }]);
      }
    }
  }

  // History charts.
  const chartsBox = h('div', { class: 'charts' });
  const picker = h('div', { class: 'series-picker' });
  grid.append(h('section', { class: 'card wide' }, h('h2', null, 'History'), picker, chartsBox));
  const addChart = (title: string, refs: SeriesRef[]) => {
    const c = historyChart(title, refs, 6 * 3600e3, () => anomalies);
    charts.push(c);
    chartsBox.append(c.element);
  };
  try {
    const series = (await listAll(`/timeseries?twin=${enc(id)}`)).filter((s: Json) => s.type === 'double' || s.type === 'int64');
    if (series.length === 0) {
      clear(picker, empty('No history for this twin yet.'));
    } else {
      const select = h('select', { 'aria-label': 'Series to chart', id: 'series-select' },
        ...series.map((s: Json) => h('option', { value: s.path }, `${labelOf(model, s.path)}${s.unit ? ` (${unitOf(model, s.path)})` : ''}`)));
      clear(picker, select, h('button', { onclick: () => addChart(labelOf(model, select.value), [{ twin: id, path: select.value, label: labelOf(model, select.value), unit: unitOf(model, select.value) }]) }, 'Add chart'));
      for (const set of overlays) addChart(set.map((s) => s.label).join(' vs '), set);
      const telemetryNames = [...(modelOf(model)?.contents.values() ?? [])].filter((c: Content) => c.kind === 'Telemetry').map((c) => c.name);
      // Default charts: measured telemetry with a physical quantity first; KPI outputs (also
      // telemetry, written each minute) only when there is nothing else.
      // Measured quantities before derived ones (simulation outputs, estimates, scores).
      const rank = (s: Json) => (/^expected|Residual$|Estimate$|Stddev$|[sS]core$/.test(s.path) ? 2 : 0) + (s.semanticType ? 0 : 1);
      const kpiNames = ['oee', 'availability', 'performance', 'quality', 'mtbfHours', 'mttrHours', 'energyPerGoodUnit', 'capacityFactor', 'timeAvailability', 'utilisation'];
      const defaults = series
        .filter((s: Json) => telemetryNames.includes(s.path) && !kpiNames.includes(s.path) && !overlays.flat().some((o) => o.twin === id && o.path === s.path))
        .sort((a: Json, b: Json) => rank(a) - rank(b))
        .slice(0, 3);
      for (const s of defaults.length || overlays.length ? defaults : series.slice(0, 2)) addChart(labelOf(model, s.path), [{ twin: id, path: s.path, label: labelOf(model, s.path), unit: unitOf(model, s.path) }]);
    }
  } catch (e) {
    clear(picker, errorBox(e));
  }

  // Commands.
  const commands = [...(modelOf(model)?.contents.values() ?? [])].filter((c) => c.kind === 'Command');
  if (commands.length > 0) grid.append(section('Commands', (body) => commandsPanel(body, id, commands)));

  // Relationships.
  if (graph) {
    const out = graph.children.get(id) ?? [];
    const inc = graph.parents.get(id) ?? [];
    grid.append(h('section', { class: 'card' }, h('h2', null, 'Relationships'),
      out.length + inc.length === 0 ? empty('None.') : h('ul', { class: 'rels' },
        ...inc.map((r) => h('li', null, h('a', { href: `#/twin/${enc(r.source)}` }, r.source), ` —${r.name}→ this`)),
        ...out.map((r) => h('li', null, `this —${r.name}→ `, h('a', { href: `#/twin/${enc(r.target)}`, 'data-twin': r.target }, r.target))))));
  }

  return () => {
    disposers.forEach((d) => d());
    charts.forEach((c) => c.destroy());
  };
}

// "hasMainBearing>bearingTemperature" → the related twin's series; "nacelle/x" stays on the twin.
function resolvePath(graph: Awaited<ReturnType<typeof loadGraph>> | null, id: string, path: string): { twin: string; path: string } | null {
  if (!path.includes('>')) return { twin: id, path };
  const [rel, rest] = [path.slice(0, path.indexOf('>')), path.slice(path.indexOf('>') + 1)];
  const target = graph?.children.get(id)?.find((r) => r.name === rel)?.target;
  return target ? { twin: target, path: rest } : null;
}

function rulTile(name: string, r: Json): HTMLElement {
  if (typeof r.rul !== 'number') {
    return h('div', { class: 'tile', 'data-rul': name }, h('div', { class: 'tile-label' }, `RUL · ${name}`),
      h('div', { class: 'tile-value' }, '—'), h('div', { class: 'muted' }, r.status ? `model ${r.status}` : 'no estimate yet'));
  }
  const low = typeof r.low === 'number' ? r.low : r.rul, high = typeof r.high === 'number' ? r.high : r.rul;
  const scale = Math.max(high, r.rul, 1) * 1.1;
  return h('div', { class: 'tile rul', 'data-rul': name },
    h('div', { class: 'tile-label' }, `Remaining useful life · ${name}`),
    h('div', { class: 'tile-value' }, `${formatValue(Math.round(r.rul))} h`),
    h('div', { class: 'band', title: `interval ${formatValue(low)} – ${formatValue(high)} h` },
      h('div', { class: 'band-range', style: `left:${(low / scale) * 100}%;width:${((high - low) / scale) * 100}%` }),
      h('div', { class: 'band-mark', style: `left:${(r.rul / scale) * 100}%` })),
    h('div', { class: 'muted' }, `interval ${formatValue(Math.round(low))} – ${formatValue(Math.round(high))} h${typeof r.health === 'number' ? ` · health ${r.health.toFixed(2)}` : ''}`));
}

// A component or object property without its $metadata: "a = 1, b = x".
function componentText(v: Json): string {
  if (!v || typeof v !== 'object') return formatValue(v);
  return Object.entries(v).filter(([k]) => !k.startsWith('$')).map(([k, x]) => `${k} = ${formatValue(x)}`).join(', ') || '—';
}

function propertiesTable(id: string, model: string, doc: Json, envelope: { ok: boolean; value: Json }, refresh: () => Promise<void>): HTMLElement {
  const contents = modelOf(model)?.contents;
  const rows: HTMLElement[] = [];
  const keys = Object.keys(doc).filter((k) => !k.startsWith('$'));
  for (const [name, c] of contents ?? []) if (c.kind === 'Property' && c.writable && !keys.includes(name)) keys.push(name);
  for (const key of keys.sort()) {
    const c = contents?.get(key);
    const unit = c?.unit ?? '';
    const meta = doc.$metadata?.[key] ?? {};
    const shown = c?.kind === 'Component' || (doc[key] && typeof doc[key] === 'object') ? componentText(doc[key]) : formatValue(doc[key]);
    const value = h('td', { 'data-prop': key }, `${shown}${unit && doc[key] !== undefined ? ` ${unit}` : ''}`);
    const row = h('tr', null, h('th', { title: key }, c?.displayName ?? key), value);
    if (c?.writable) {
      const bounds = envelope.ok ? envelope.value?.[key] : null;
      const input = h('input', { type: typeof doc[key] === 'number' || c.schema === 'double' || c.schema === 'integer' ? 'number' : 'text',
        step: 'any', value: doc[key] ?? '', 'aria-label': `New ${key}`, 'data-write': key,
        min: bounds?.min ?? undefined, max: bounds?.max ?? undefined });
      const out = h('div', { class: 'write-result' });
      const setButton = h('button', { class: 'small', onclick: async () => {
        const raw = input.value;
        const v = input.type === 'number' ? Number(raw) : raw;
        if (input.type === 'number' && (raw === '' || !Number.isFinite(v))) return clear(out, errorBox('enter a number'));
        setButton.disabled = true;
        clear(out, loading('Sending…'));
        try {
          await patch(`/digitaltwins/${enc(id)}`, [{ op: doc[key] === undefined ? 'add' : 'replace', path: `/${key}`, value: v }]);
          clear(out, h('span', { class: 'ok' }, 'Written; waiting for the device…'));
          setTimeout(() => void refresh().catch(() => undefined), 1500);
        } catch (e) {
          clear(out, errorBox(e));
        } finally {
          setButton.disabled = false;
        }
      } }, 'Set');
      const ack = meta.desiredVersion !== undefined
        ? h('div', { class: 'muted' }, `desired ${formatValue(meta.desiredValue)} (v${meta.desiredVersion}) · reported ${formatValue(meta.reportedValue)} · ack ${meta.ackCode ?? '—'}${meta.ackDescription ? ` ${meta.ackDescription}` : ''}`)
        : null;
      const env = !envelope.ok ? null
        : bounds ? h('div', { class: 'muted envelope' }, `safety envelope: ${formatValue(bounds.min)} – ${formatValue(bounds.max)}${unit ? ` ${unit}` : ''}${bounds.maxRatePerMinute !== undefined ? `, at most ${formatValue(bounds.maxRatePerMinute)}${unit ? ` ${unit}` : ''}/min` : ''}`)
          : h('div', { class: 'muted envelope' }, 'safety envelope: no bounds for this property');
      append(value, [h('div', { class: 'write' }, input, setButton), ack, env, out]);
    }
    rows.push(row);
  }
  const writable = [...(contents?.values() ?? [])].some((c) => c.kind === 'Property' && c.writable);
  return h('div', null,
    writable && !envelope.ok ? h('div', { class: 'error envelope' }, `safety envelope unavailable: ${envelope.value}`) : null,
    rows.length ? h('table', { class: 'kv props' }, h('tbody', null, ...rows)) : empty('No properties.'));
}

async function commandsPanel(body: HTMLElement, id: string, commands: Content[]): Promise<void> {
  const history = h('div', null);
  const refreshHistory = async () => {
    try {
      const list = await get(`/digitaltwins/${enc(id)}/commands?limit=5`);
      const items = list.value ?? [];
      clear(history, items.length === 0 ? empty('No commands sent to this twin yet.') : h('table', { class: 'kv' }, h('tbody', null,
        ...items.map((i: Json) => h('tr', null, h('td', null, formatTime(i.createdTime)), h('td', null, i.command),
          h('td', { class: `status-${i.status}` }, i.status), h('td', null, i.response !== undefined ? formatValue(i.response) : i.error ?? ''))))));
    } catch (e) {
      clear(history, errorBox(e));
    }
  };
  const rows = commands.map((c) => {
    const needsPayload = c.request !== undefined && c.request !== null;
    const payload = h('input', { type: 'text', placeholder: needsPayload ? `${c.request?.name ?? 'request'} (JSON)` : 'no payload', disabled: !needsPayload, 'aria-label': `${c.name} payload` });
    const out = h('span', { class: 'cmd-result' });
    const button = h('button', { class: 'small', 'data-command': c.name, onclick: async () => {
      let body: unknown = undefined;
      if (needsPayload && payload.value.trim()) {
        try { body = JSON.parse(payload.value); } catch { body = payload.value; }
      }
      button.disabled = true;
      clear(out, loading('Sent; waiting for the device…'));
      try {
        const r = await post(`/digitaltwins/${enc(id)}/commands/${enc(c.name)}?timeout=10s`, body);
        clear(out, h('span', { class: `status-${r.status}` }, `${r.status}${r.responseStatus ? ` (${r.responseStatus})` : ''}${r.response ? `: ${formatValue(r.response?.message ?? r.response)}` : ''}${r.error ? `: ${r.error}` : ''}`));
      } catch (e) {
        clear(out, errorBox(e));
      } finally {
        button.disabled = false;
        void refreshHistory();
      }
    } }, c.displayName);
    return h('div', { class: 'command' }, button, payload, out);
  });
  clear(body, ...rows, h('h3', null, 'Recent'), history);
  await refreshHistory();
}

