// The twin graph as the dashboard holds it: every twin and relationship (two queries), the
// containment tree (roots = twins nothing points to) and each twin's status.
import { Json, queryAll } from './api';

export interface Twin {
  id: string;
  model: string;
  doc: Json;
}
export interface Relationship {
  id: string;
  name: string;
  source: string;
  target: string;
}
export interface Graph {
  twins: Map<string, Twin>;
  relationships: Relationship[];
  children: Map<string, Relationship[]>;
  parents: Map<string, Relationship[]>;
  roots: string[];
}

let cached: { at: number; graph: Promise<Graph> } | null = null;

export function loadGraph(maxAgeMs = 15000): Promise<Graph> {
  if (cached && Date.now() - cached.at < maxAgeMs) return cached.graph;
  const graph = (async () => {
    const [twinRows, relRows] = await Promise.all([
      queryAll('SELECT * FROM DIGITALTWINS'),
      queryAll('SELECT * FROM RELATIONSHIPS'),
    ]);
    const twins = new Map<string, Twin>();
    for (const t of twinRows) twins.set(t.$dtId, { id: t.$dtId, model: t.$metadata?.$model ?? '', doc: t });
    const relationships: Relationship[] = relRows.map((r: Json) => ({
      id: r.$relationshipId, name: r.$relationshipName, source: r.$sourceId, target: r.$targetId,
    }));
    const children = new Map<string, Relationship[]>();
    const parents = new Map<string, Relationship[]>();
    for (const r of relationships) {
      if (!twins.has(r.source) || !twins.has(r.target)) continue;
      (children.get(r.source) ?? children.set(r.source, []).get(r.source)!).push(r);
      (parents.get(r.target) ?? parents.set(r.target, []).get(r.target)!).push(r);
    }
    children.forEach((list) => list.sort((a, b) => a.target.localeCompare(b.target)));
    // Sites (roots with children) first, then lone twins.
    const roots = [...twins.keys()].filter((id) => !parents.has(id))
      .sort((a, b) => Number(!children.has(a)) - Number(!children.has(b)) || a.localeCompare(b));
    return { twins, relationships, children, parents, roots };
  })();
  cached = { at: Date.now(), graph };
  graph.catch(() => (cached = null));
  return graph;
}

export function invalidateGraph(): void {
  cached = null;
}

// A twin's operating status for colouring: its `state` property when it has one.
export type Status = 'running' | 'curtailed' | 'stopped' | 'fault' | 'idle' | 'unknown' | 'alarm';
export function statusOf(doc: Json): Status {
  const s = typeof doc?.state === 'string' ? doc.state.toLowerCase() : '';
  if (!s) return 'unknown';
  if (['running', 'producing', 'ok', 'operating'].includes(s)) return 'running';
  if (['fault', 'failed', 'down', 'breakdown', 'error'].includes(s)) return 'fault';
  if (['curtailed', 'blocked', 'starved', 'degraded', 'setup', 'changeover'].includes(s)) return 'curtailed';
  if (['stopped', 'off', 'maintenance', 'planneddowntime'].includes(s)) return 'stopped';
  if (['idle', 'waiting'].includes(s)) return 'idle';
  return 'unknown';
}

export const STATUS_COLOURS: Record<Status, string> = {
  running: '#2e9e5b', curtailed: '#d99a1e', stopped: '#7a8290', fault: '#d64545', idle: '#4f86c6',
  unknown: '#a0a7b4', alarm: '#d64545',
};

// The twin's ancestors (first parent each), root first.
export function pathTo(graph: Graph, id: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let cur: string | undefined = id;
  while (cur && !seen.has(cur)) {
    seen.add(cur);
    out.unshift(cur);
    cur = graph.parents.get(cur)?.[0]?.source;
  }
  return out;
}
