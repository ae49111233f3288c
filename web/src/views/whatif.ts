// What-if (docs/simulation.md, simulation-scenarios.md): choose a twin with a simulation
// binding, set scenario parameters, run, watch progress, compare the scenarios on one chart
// per output and a summary table.
import { enc, get, listAll, post } from '../api';
import type { Json } from '../api';
import { clear, empty, errorBox, h } from '../dom';
import { formatNumber, formatTime } from '../format';
import { isA } from '../models';
import { loadGraph } from '../twins';
import { lineChart } from './chart';

interface ScenarioRow {
  name: HTMLInputElement;
  kind: HTMLSelectElement; // "inputs" | "parameters" | "states"
  variable: HTMLSelectElement;
  mode: HTMLSelectElement; // value | scale | offset
  amount: HTMLInputElement;
  element: HTMLElement;
}

export async function whatIfView(root: HTMLElement, [twinParam]: string[]): Promise<() => void> {
  let stopped = false;
  const [bindings, graph] = await Promise.all([listAll('/simulation/bindings'), loadGraph()]);
  const candidates = [...graph.twins.values()].filter((t) => bindings.some((b: Json) =>
    (b.twins?.ids ?? []).includes(t.id) || (b.twins?.model && isA(t.model, b.twins.model)))).map((t) => t.id).sort();
  root.append(h('h1', null, 'What-if'));
  if (candidates.length === 0) {
    root.append(empty('No twin has a simulation binding (PUT /simulation/bindings/{name}; the demo loads examples/*/simulation).'));
    return () => undefined;
  }
  const twinId = candidates.includes(twinParam) ? twinParam : candidates[0];
  const binding = bindings.find((b: Json) => (b.twins?.ids ?? []).includes(twinId) || (b.twins?.model && isA(graph.twins.get(twinId)!.model, b.twins.model)));
  const simModel = await get(`/simulation/models/${enc(binding.model)}`);
  const variables: Json[] = simModel.variables ?? [];
  const byCausality = (c: string) => variables.filter((v) => v.causality === c);
  const isLine = binding.model === 'productionLine';

  const twinSelect = h('select', { id: 'whatif-twin', 'aria-label': 'Twin', onchange: () => { location.hash = `#/whatif/${enc(twinSelect.value)}`; } },
    ...candidates.map((c) => h('option', { value: c, selected: c === twinId }, c)));
  const horizon = h('input', { id: 'whatif-horizon', value: isLine ? '4w' : '24h', size: 6, 'aria-label': 'Horizon' });
  const resolution = h('input', { id: 'whatif-resolution', value: isLine ? '1d' : '10m', size: 6, 'aria-label': 'Resolution' });
  const base = h('select', { id: 'whatif-base', 'aria-label': 'Base profile' },
    h('option', { value: 'history', selected: !isLine }, 'replay history'), h('option', { value: 'hold', selected: isLine }, 'hold current values'));
  const outputs = [...byCausality('output'), ...byCausality('state')];
  const defaultOutputs = isLine ? ['throughput', 'averageWip'] : ['activePower', 'bearingTemperature', 'cumulativeDamage'];
  const outputBoxes = outputs.map((v) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: v.name, checked: defaultOutputs.includes(v.name) }), ` ${v.name}${v.unit && v.unit !== '1' ? ` (${v.unit})` : ''}`));

  const rowsBox = h('div', { class: 'scenario-rows' });
  const rows: ScenarioRow[] = [];
  const addRow = (name: string, kind: string, variable: string, mode: string, amount: string) => {
    const kindSel = h('select', { 'aria-label': 'Change' }, ...[['inputs', 'input'], ['parameters', 'parameter'], ['states', 'state'], ['', 'nothing']].map(([v, l]) => h('option', { value: v, selected: v === kind }, l)));
    const varSel = h('select', { 'aria-label': 'Variable' });
    const fill = () => {
      const causality = kindSel.value.replace(/s$/, '');
      clear(varSel, ...byCausality(causality).map((v) => h('option', { value: v.name, selected: v.name === variable }, v.name)));
      varSel.disabled = !kindSel.value;
    };
    kindSel.addEventListener('change', fill);
    fill();
    const modeSel = h('select', { 'aria-label': 'How' }, ...['value', 'scale', 'offset'].map((m) => h('option', { value: m, selected: m === mode }, m)));
    const row: ScenarioRow = {
      name: h('input', { value: name, 'aria-label': 'Scenario name', size: 14 }), kind: kindSel, variable: varSel, mode: modeSel,
      amount: h('input', { type: 'number', step: 'any', value: amount, 'aria-label': 'Amount', size: 8 }), element: h('div'),
    };
    row.element = h('div', { class: 'scenario-row' }, row.name, row.kind, row.variable, row.mode, row.amount,
      h('button', { class: 'small secondary', 'aria-label': 'Remove scenario', onclick: () => { rows.splice(rows.indexOf(row), 1); row.element.remove(); } }, '✕'));
    rows.push(row);
    rowsBox.append(row.element);
  };
  if (isLine) {
    addRow('as is', '', '', 'scale', '1');
    addRow('buffer 3 doubled', 'parameters', 'buffer3Capacity', 'scale', '2');
  } else {
    addRow('limit 100%', 'inputs', 'rotorSpeedLimit', 'scale', '1');
    addRow('limit 90%', 'inputs', 'rotorSpeedLimit', 'scale', '0.9');
    addRow('limit 80%', 'inputs', 'rotorSpeedLimit', 'scale', '0.8');
  }
  const progress = h('progress', { max: 1, value: 0, hidden: true, id: 'whatif-progress' });
  const status = h('div', { class: 'muted', role: 'status' });
  const results = h('div', { class: 'whatif-results' });
  const runButton = h('button', { id: 'whatif-run', onclick: () => void run() }, 'Run scenarios');

  async function run(): Promise<void> {
    const chosen = outputBoxes.map((l) => l.querySelector('input')!).filter((i) => i.checked).map((i) => i.value);
    if (chosen.length === 0) return clear(status, errorBox('choose at least one output'));
    const scenarios = rows.map((r) => {
      const s: Json = { name: r.name.value };
      if (r.kind.value && r.variable.value && r.amount.value !== '') s[r.kind.value] = { [r.variable.value]: { [r.mode.value]: Number(r.amount.value) } };
      return s;
    });
    runButton.disabled = true;
    clear(results);
    progress.hidden = false;
    progress.value = 0;
    clear(status, 'Submitting…');
    try {
      let job = await post(`/digitaltwins/${enc(twinId)}/scenarios`, { base: base.value, horizon: horizon.value, resolution: resolution.value, outputs: chosen, scenarios });
      while (!stopped && (job.status === 'queued' || job.status === 'running' || job.status === 'pending')) {
        progress.value = job.progress ?? 0;
        clear(status, `Job ${job.id}: ${job.status} ${Math.round((job.progress ?? 0) * 100)} %`);
        await new Promise((r) => setTimeout(r, 400));
        job = await get(`/digitaltwins/${enc(twinId)}/scenarios/${enc(job.id)}`);
      }
      if (stopped) return;
      progress.value = 1;
      if (job.status !== 'succeeded') {
        clear(status, errorBox(job.error ?? `the job ended ${job.status}`, `job ${job.id}`));
        return;
      }
      if (!job.scenarios) job = await get(`/digitaltwins/${enc(twinId)}/scenarios/${enc(job.id)}`);
      clear(status, `Job ${job.id} succeeded · started ${formatTime(job.startTime)} · finished ${formatTime(job.finishedAt)}`);
      showResults(job, chosen);
    } catch (e) {
      clear(status, errorBox(e));
    } finally {
      runButton.disabled = false;
      progress.hidden = true;
    }
  }

  function showResults(job: Json, chosen: string[]): void {
    const scenarios: Json[] = job.scenarios ?? [];
    const t0 = Date.parse(job.startTime ?? job.createdAt);
    const parts: HTMLElement[] = [];
    for (const out of chosen) {
      const first = scenarios.find((s) => s.outputs?.[out]);
      if (!first) continue;
      const n = first.outputs[out].values.length;
      const xs = Array.from({ length: n }, (_, i) => t0 + i * first.resolution * 1000);
      parts.push(h('div', { class: 'chart card', 'data-output': out }, h('h3', null, `${out}${first.outputs[out].unit && first.outputs[out].unit !== '1' ? ` (${first.outputs[out].unit})` : ''}`),
        lineChart(xs, scenarios.map((s) => ({ label: s.name, values: s.outputs?.[out]?.values ?? [], unit: s.outputs?.[out]?.unit })))));
    }
    const header = h('tr', null, h('th', null, 'scenario'), ...chosen.flatMap((o) => {
      const u = scenarios[0]?.outputs?.[o];
      return [h('th', null, `${o} mean`), h('th', null, `${o} max`), h('th', null, `${o} final`), h('th', null, u?.summary?.integralUnit ? `${o} ∫ (${u.summary.integralUnit})` : `${o} ∫`)];
    }));
    const body = scenarios.map((s) => h('tr', null, h('td', null, s.name), ...chosen.flatMap((o) => {
      const sum = s.outputs?.[o]?.summary ?? {};
      return ['mean', 'max', 'final', 'integral'].map((k) => h('td', { class: 'num' }, typeof sum[k] === 'number' ? formatNumber(sum[k]) : '—'));
    })));
    clear(results, h('div', { class: 'table-wrap' }, h('table', { class: 'results summary', id: 'whatif-summary' }, h('thead', null, header), h('tbody', null, ...body))), ...parts);
  }

  root.append(h('div', { class: 'whatif' },
    h('section', { class: 'card' },
      h('h2', null, 'Scenario'),
      h('div', { class: 'form-grid' },
        h('label', null, 'Twin', twinSelect), h('label', null, 'Horizon', horizon), h('label', null, 'Resolution', resolution), h('label', null, 'Base', base)),
      h('div', { class: 'muted' }, `binding ${binding.name} · model ${binding.model} · durations like 30m, 24h, 7d`),
      h('h3', null, 'Outputs'), h('div', { class: 'checks' }, ...outputBoxes),
      h('h3', null, 'Scenarios'), rowsBox,
      h('div', { class: 'row' }, h('button', { class: 'secondary', onclick: () => addRow(`scenario ${rows.length + 1}`, 'inputs', '', 'scale', '1') }, 'Add scenario'), runButton),
      progress, status),
    results));
  return () => { stopped = true; };
}
