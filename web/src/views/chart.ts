// History charts (docs/history.md): series from POST /timeseries/query, downsampled on the
// server to about one bucket per pixel (avg with a min–max band), with zoom (drag a range,
// the wheel, the buttons) and pan; each zoom or pan fetches that range at the new resolution.
import uPlot from 'uplot';
import { post } from '../api';
import type { Json } from '../api';
import { clear, errorBox, h } from '../dom';
import { formatNumber } from '../format';

export interface SeriesRef {
  twin: string;
  path: string;
  label?: string;
  unit?: string;
  colour?: string;
  dash?: boolean;
}
export interface Marker {
  time: number; // ms
  label: string;
}

const PALETTE = ['#2f6fdb', '#e0742c', '#2e9e5b', '#a347c7', '#d64545', '#168a99', '#8a6d1e'];
const RANGES: [string, number][] = [['1h', 3600e3], ['6h', 6 * 3600e3], ['24h', 86400e3], ['7d', 7 * 86400e3]];

export interface ChartHandle {
  element: HTMLElement;
  destroy(): void;
  range(): [number, number];
}

// A chart of `series` over the last `initialMs`; `markers` (e.g. anomaly events) are drawn as
// vertical lines.
export function historyChart(title: string, series: SeriesRef[], initialMs = 6 * 3600e3,
  markers: () => Marker[] = () => []): ChartHandle {
  const plotBox = h('div', { class: 'plot' });
  const status = h('div', { class: 'chart-status muted' });
  let end = Date.now();
  let start = end - initialMs;
  let plot: uPlot | null = null;
  let generation = 0;
  let destroyed = false;

  const setRange = (s: number, e: number) => {
    const now = Date.now();
    const span = Math.max(e - s, 60e3);
    if (e > now + span / 2) { e = now; s = now - span; }
    start = Math.round(s);
    end = Math.round(Math.max(e, s + 60e3));
    void load();
  };
  const zoom = (factor: number) => {
    const mid = (start + end) / 2, half = ((end - start) * factor) / 2;
    setRange(mid - half, mid + half);
  };
  const pan = (fraction: number) => {
    const d = (end - start) * fraction;
    setRange(start + d, end + d);
  };
  const toolbar = h('div', { class: 'chart-tools' },
    ...RANGES.map(([label, ms]) => h('button', { class: 'small', onclick: () => setRange(Date.now() - ms, Date.now()), title: `Last ${label}` }, label)),
    h('button', { class: 'small', onclick: () => pan(-0.5), title: 'Pan left', 'aria-label': 'Pan left' }, '◀'),
    h('button', { class: 'small', onclick: () => pan(0.5), title: 'Pan right', 'aria-label': 'Pan right' }, '▶'),
    h('button', { class: 'small', onclick: () => zoom(0.5), title: 'Zoom in', 'aria-label': 'Zoom in', 'data-action': 'zoom-in' }, '+'),
    h('button', { class: 'small', onclick: () => zoom(2), title: 'Zoom out', 'aria-label': 'Zoom out' }, '−'));
  const element = h('div', { class: 'chart card', 'data-chart': title },
    h('div', { class: 'chart-head' }, h('h3', null, title), toolbar), plotBox, status);

  async function load(): Promise<void> {
    const mine = ++generation;
    const width = Math.max(plotBox.clientWidth || 600, 200);
    const stepMs = Math.max(Math.ceil((end - start) / width), 1000);
    status.textContent = 'Loading…';
    try {
      const answer = await post('/timeseries/query', {
        series: series.map((s) => ({ twin: s.twin, path: s.path })),
        start: new Date(start).toISOString(), end: new Date(end).toISOString(),
        step: `${stepMs}ms`, aggregations: ['avg', 'min', 'max'], timeFormat: 'ns',
      });
      if (mine !== generation || destroyed) return;
      draw(answer, stepMs);
    } catch (e) {
      if (mine !== generation || destroyed) return;
      clear(status, errorBox(e));
    }
  }

  function draw(answer: Json, stepMs: number): void {
    const times = new Set<number>();
    const bySeries: Map<number, Json>[] = series.map(() => new Map());
    for (const s of answer.series ?? []) {
      const i = series.findIndex((r) => r.twin === s.twin && r.path === s.path);
      if (i < 0) continue;
      for (const b of s.buckets ?? []) {
        const t = Math.round(b.time / 1e6) / 1000;
        times.add(t);
        bySeries[i].set(t, b);
      }
    }
    const xs = [...times].sort((a, b) => a - b);
    const data: (number | null)[][] = [xs];
    const opts: uPlot.Series[] = [{}];
    const bands: uPlot.Band[] = [];
    series.forEach((s, i) => {
      const colour = s.colour ?? PALETTE[i % PALETTE.length];
      const col = (k: string) => xs.map((t) => { const v = bySeries[i].get(t)?.[k]; return typeof v === 'number' ? v : null; });
      const base = data.length;
      data.push(col('avg'), col('min'), col('max'));
      const label = `${s.label ?? `${s.twin} ${s.path}`}${s.unit ? ` (${s.unit})` : ''}`;
      opts.push({ label, stroke: colour, width: 1.5, dash: s.dash ? [6, 4] : undefined, spanGaps: false,
        value: (_u, v) => (v === null || v === undefined ? '—' : `${formatNumber(v)}${s.unit ? ` ${s.unit}` : ''}`) });
      opts.push({ label: `${label} min`, stroke: 'transparent', show: true, value: () => '', width: 0 });
      opts.push({ label: `${label} max`, stroke: 'transparent', show: true, value: () => '', width: 0 });
      bands.push({ series: [base + 2, base + 1], fill: `${colour}22` });
    });
    const empty = xs.length === 0;
    status.textContent = empty ? 'No data in this range.' : `${xs.length} buckets of ${stepMs >= 60000 ? `${Math.round(stepMs / 60000)} min` : `${Math.round(stepMs / 1000)} s`} · drag to zoom, wheel to zoom, ◀ ▶ to pan`;
    const width = Math.max(plotBox.clientWidth || 600, 200);
    const options: uPlot.Options = {
      width, height: 220, series: opts, bands,
      // Anomaly scores live in [0, 1]: a flat zero should read as "normal", not fill the chart.
      scales: { x: { time: true, min: start / 1000, max: end / 1000 }, ...(series.every((s) => /score/i.test(s.path)) ? { y: { range: [0, 1] as uPlot.Range.MinMax } } : {}) },
      axes: [{}, { size: 64 }],
      legend: { live: true },
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 5) return;
          const a = u.posToVal(u.select.left, 'x') * 1000, b = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          setRange(a, b);
        }],
        draw: [(u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = '#d64545';
          ctx.lineWidth = 2 * devicePixelRatio;
          for (const m of markers()) {
            if (m.time < start || m.time > end) continue;
            const x = u.valToPos(m.time / 1000, 'x', true);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        }],
      },
    };
    plot?.destroy();
    plot = new uPlot(options, data as uPlot.AlignedData, plotBox);
    // The min and max series only draw the band: keep them out of the legend.
    plot.root.querySelectorAll('.u-legend .u-series').forEach((row, i) => {
      if (i > 0 && (i - 1) % 3 !== 0) (row as HTMLElement).style.display = 'none';
    });
    element.dataset.start = String(start);
    element.dataset.end = String(end);
    element.dataset.points = String(xs.length);
  }

  // Markers that arrive after the data (anomaly events load separately) are drawn on request.
  element.addEventListener('redraw', () => plot?.redraw(false));
  plotBox.addEventListener('wheel', (e) => {
    if (!plot) return;
    e.preventDefault();
    const rect = plot.over.getBoundingClientRect();
    const at = plot.posToVal(e.clientX - rect.left, 'x') * 1000;
    const factor = e.deltaY < 0 ? 0.75 : 1 / 0.75;
    setRange(at - (at - start) * factor, at + (end - at) * factor);
  }, { passive: false });
  const resize = new ResizeObserver(() => {
    if (plot && plotBox.clientWidth > 0 && Math.abs(plot.width - plotBox.clientWidth) > 20) plot.setSize({ width: plotBox.clientWidth, height: 220 });
  });
  resize.observe(plotBox);
  requestAnimationFrame(() => void load());
  return {
    element,
    destroy: () => { destroyed = true; resize.disconnect(); plot?.destroy(); },
    range: () => [start, end],
  };
}

// A chart of ready-made series (what-if results): x in ms, one line per series.
export function lineChart(xs: number[], lines: { label: string; values: (number | null)[]; unit?: string }[], height = 220): HTMLElement {
  const box = h('div', { class: 'plot' });
  requestAnimationFrame(() => {
    const width = Math.max(box.clientWidth || 600, 200);
    const opts: uPlot.Options = {
      width, height,
      series: [{}, ...lines.map((l, i) => ({ label: l.label, stroke: PALETTE[i % PALETTE.length], width: 1.5,
        value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : `${formatNumber(v)}${l.unit ? ` ${l.unit}` : ''}`) }))],
      scales: { x: { time: true } },
      axes: [{}, { size: 64 }],
    };
    new uPlot(opts, [xs.map((x) => x / 1000), ...lines.map((l) => l.values)] as uPlot.AlignedData, box);
  });
  return box;
}
