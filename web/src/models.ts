// The DTDL models (GET /models?includeModelDefinition=true), flattened per interface with
// what it extends: each property, telemetry, command, relationship and component by name,
// with its unit (docs/models.md).
import { Json, listAll } from './api';
import { unitSymbol } from './units';

export interface Content {
  kind: 'Property' | 'Telemetry' | 'Command' | 'Relationship' | 'Component';
  name: string;
  displayName: string;
  unit: string; // the symbol ("kW"), "" when none
  semanticType: string;
  schema: Json;
  writable: boolean;
  request?: Json; // commands
  target?: string; // relationships
}

export interface Model {
  id: string;
  displayName: string;
  extends: string[];
  contents: Map<string, Content>;
}

let models: Map<string, Model> | null = null;
let loadingModels: Promise<Map<string, Model>> | null = null;

function text(v: Json, fallback: string): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') return v.en ?? Object.values(v)[0] ?? fallback;
  return fallback;
}

function parseContent(c: Json): Content | null {
  const types: string[] = Array.isArray(c['@type']) ? c['@type'] : [c['@type']];
  const kind = types.find((t) => ['Property', 'Telemetry', 'Command', 'Relationship', 'Component'].includes(t));
  if (!kind || typeof c.name !== 'string') return null;
  return {
    kind: kind as Content['kind'],
    name: c.name,
    displayName: text(c.displayName, c.name),
    unit: unitSymbol(c.unit),
    semanticType: types.find((t) => t !== kind) ?? '',
    schema: c.schema,
    writable: c.writable === true,
    request: c.request,
    target: typeof c.target === 'string' ? c.target : undefined,
  };
}

export async function loadModels(): Promise<Map<string, Model>> {
  if (models) return models;
  if (!loadingModels) {
    loadingModels = listAll('/models?includeModelDefinition=true').then((list) => {
      const raw = new Map<string, Json>();
      for (const m of list) if (m.model) raw.set(m.id, m.model);
      const out = new Map<string, Model>();
      const resolve = (id: string, seen: Set<string>): Model | undefined => {
        if (out.has(id)) return out.get(id);
        const def = raw.get(id);
        if (!def || seen.has(id)) return undefined;
        seen.add(id);
        const ext: string[] = def.extends ? (Array.isArray(def.extends) ? def.extends : [def.extends]) : [];
        const contents = new Map<string, Content>();
        for (const parent of ext) {
          const p = typeof parent === 'string' ? resolve(parent, seen) : undefined;
          p?.contents.forEach((c, name) => contents.set(name, c));
        }
        for (const c of def.contents ?? []) {
          const parsed = parseContent(c);
          if (parsed) contents.set(parsed.name, parsed);
        }
        const model: Model = {
          id, displayName: text(def.displayName, id.replace(/^dtmi:|;\d+$/g, '').split(':').pop() ?? id),
          extends: ext.filter((e) => typeof e === 'string'), contents,
        };
        out.set(id, model);
        return model;
      };
      for (const id of raw.keys()) resolve(id, new Set());
      models = out;
      return out;
    });
    loadingModels.catch(() => (loadingModels = null));
  }
  return loadingModels;
}

export function modelOf(id: string): Model | undefined {
  return models?.get(id);
}

// Whether model `id` is `base` or extends it (transitively).
export function isA(id: string, base: string): boolean {
  if (id === base) return true;
  const m = models?.get(id);
  return !!m && m.extends.some((e) => isA(e, base));
}

export function shortModel(id: string): string {
  return modelOf(id)?.displayName ?? id.replace(/;\d+$/, '').split(':').pop() ?? id;
}

// The unit symbol of a path of a twin of `modelId` ("activePower", "nacelle/ambientTemperature").
export function unitOf(modelId: string, path: string): string {
  const m = modelOf(modelId);
  if (!m) return '';
  const [first, rest] = path.includes('/') ? [path.split('/')[0], path.split('/').slice(1).join('/')] : [path, ''];
  const c = m.contents.get(first);
  if (!c) return '';
  if (c.kind === 'Component' && rest && typeof c.schema === 'string') return unitOf(c.schema, rest);
  return c.unit;
}

export function labelOf(modelId: string, path: string): string {
  const c = modelOf(modelId)?.contents.get(path);
  return c ? c.displayName : path;
}
