// Doppel's REST API from the browser: same origin, JSON, bearer token from the login box
// (sessionStorage) when the server enforces authentication (docs/security.md).
const TOKEN_KEY = 'doppel.token';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(value: string | null): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

type Listener = () => void;
const unauthenticatedListeners: Listener[] = [];
// Called on any 401: the page shows the login box.
export function onUnauthenticated(listener: Listener): void {
  unauthenticatedListeners.push(listener);
}

export type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function request(method: string, path: string, body?: unknown, contentType?: string): Promise<Json> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' && contentType ? body : JSON.stringify(body);
    headers['Content-Type'] = contentType ?? 'application/json';
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: payload });
  } catch (e) {
    throw new ApiError(`cannot reach the server (${method} ${path}): ${(e as Error).message}`, 0, 'NetworkError');
  }
  const text = await response.text();
  let data: Json = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const err = data && typeof data === 'object' && data.error ? data.error : null;
    const message = err?.message ?? (typeof data === 'string' && data ? data : response.statusText);
    if (response.status === 401) unauthenticatedListeners.forEach((l) => l());
    throw new ApiError(`${method} ${path.split('?')[0]} → ${response.status}: ${message}`, response.status,
      err?.code ?? String(response.status));
  }
  return data;
}

export const get = (path: string) => request('GET', path);
export const post = (path: string, body?: unknown) => request('POST', path, body);
export const patch = (path: string, body: unknown) => request('PATCH', path, body, 'application/json-patch+json');
export const del = (path: string) => request('DELETE', path);

export const enc = encodeURIComponent;

// Every item of a paged list ({"value", "nextLink"}), up to `max`.
export async function listAll(path: string, max = 10000): Promise<Json[]> {
  const items: Json[] = [];
  let next: string | null = path;
  while (next && items.length < max) {
    const page: Json = await get(next);
    items.push(...(page.value ?? []));
    next = page.nextLink ? new URL(page.nextLink, location.href).pathname + new URL(page.nextLink, location.href).search : null;
  }
  return items;
}

// Every row of a twin query, following continuation tokens.
export async function queryAll(query: string, max = 10000): Promise<Json[]> {
  const rows: Json[] = [];
  let continuationToken: string | null = null;
  do {
    const body: Json = continuationToken ? { query, continuationToken } : { query };
    const page: Json = await post('/query', body);
    rows.push(...(page.value ?? []));
    continuationToken = page.continuationToken ?? null;
  } while (continuationToken && rows.length < max);
  return rows;
}
