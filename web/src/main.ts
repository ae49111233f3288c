// The operator dashboard: a single page with hash routes, talking only to Doppel's public REST
// API and /ws (docs/dashboard.md).
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { ApiError, get, onUnauthenticated, setToken, token } from './api';
import { clear, errorBox, h, loading } from './dom';
import { timeZone } from './format';
import { onStatus, reconnect } from './live';
import { loadModels } from './models';

type View = (root: HTMLElement, params: string[], query: URLSearchParams) => void | (() => void) | Promise<void | (() => void)>;

const routes: { pattern: RegExp; load: () => Promise<View>; nav: string }[] = [
  { pattern: /^explorer$/, load: async () => (await import('./views/explorer')).explorerView, nav: 'explorer' },
  { pattern: /^twin\/(.+)$/, load: async () => (await import('./views/twin')).twinView, nav: 'explorer' },
  { pattern: /^scene$/, load: async () => (await import('./views/scene')).sceneView, nav: 'scene' },
  { pattern: /^whatif(?:\/(.+))?$/, load: async () => (await import('./views/whatif')).whatIfView, nav: 'whatif' },
  { pattern: /^alerts$/, load: async () => (await import('./views/ops')).alertsView, nav: 'alerts' },
  { pattern: /^workorders$/, load: async () => (await import('./views/ops')).workOrdersView, nav: 'workorders' },
  { pattern: /^recommendations$/, load: async () => (await import('./views/ops')).recommendationsView, nav: 'recommendations' },
];

const NAV: [string, string][] = [
  ['explorer', 'Explorer'], ['scene', 'Scene'], ['whatif', 'What-if'],
  ['alerts', 'Alerts'], ['workorders', 'Work orders'], ['recommendations', 'Recommendations'],
];

const app = document.getElementById('app')!;
const main = h('main', { id: 'main' });
const liveBadge = h('span', { class: 'live-badge', title: 'The /ws stream' }, 'connecting');
const authBox = h('span', { class: 'auth' });
const navLinks = NAV.map(([id, label]) => h('a', { href: `#/${id}`, 'data-nav': id }, label));
app.append(
  h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '#/explorer' }, 'Doppel'),
    h('nav', null, ...navLinks),
    h('span', { class: 'spacer' }),
    h('span', { class: 'tz', title: 'Times are shown in this zone' }, timeZone),
    liveBadge, authBox),
  main,
);
onStatus((s) => {
  liveBadge.textContent = s;
  liveBadge.dataset.state = s.startsWith('live') ? 'live' : 'down';
});

let dispose: (() => void) | void = undefined;
let authMode: 'dev' | 'enforced' | 'unknown' = 'unknown';

async function render(): Promise<void> {
  const [path, search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const route = path || 'explorer';
  if (typeof dispose === 'function') dispose();
  dispose = undefined;
  const match = routes.map((r) => ({ r, m: route.match(r.pattern) })).find((x) => x.m);
  navLinks.forEach((a) => a.classList.toggle('active', !!match && a.dataset.nav === match.r.nav));
  if (!match) {
    clear(main, errorBox(`no page '${route}'`), h('a', { href: '#/explorer' }, 'Back to the explorer'));
    return;
  }
  if (authMode === 'enforced' && !token()) {
    showLogin();
    return;
  }
  clear(main, loading());
  const current = location.hash;
  try {
    await loadModels();
    const view = await match.r.load();
    if (location.hash !== current) return;
    clear(main);
    const params = match.m!.slice(1).map((p) => (p === undefined ? '' : decodeURIComponent(p)));
    dispose = await view(main, params, new URLSearchParams(search));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return; // the login box is showing
    clear(main, errorBox(e));
  }
}

function showLogin(message = ''): void {
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', placeholder: 'dpk_… or a JWT', required: true });
  const form = h('form', { class: 'card login', onsubmit: async (e: Event) => {
    e.preventDefault();
    setToken(input.value.trim());
    try {
      await get('/auth/whoami');
      reconnect();
      renderAuth();
      await render();
    } catch (err) {
      setToken(null);
      showLogin(err instanceof Error ? err.message : String(err));
    }
  } },
  h('h2', null, 'Sign in'),
  h('p', null, 'This server enforces authentication. Paste an API key or a bearer token (docs/security.md); it is kept in this tab only (sessionStorage).'),
  h('label', { for: 'token' }, 'Token'), input,
  message ? errorBox(message) : null,
  h('button', { type: 'submit' }, 'Sign in'));
  clear(main, form);
  input.focus();
}

async function renderAuth(): Promise<void> {
  if (authMode === 'dev') {
    clear(authBox, h('span', { class: 'dev', title: 'Authentication is off: every caller is an administrator (loopback only)' }, 'dev mode'));
  } else if (token()) {
    let who = 'signed in';
    try {
      const me = await get('/auth/whoami');
      who = me.subject ?? me.name ?? who;
    } catch {
      /* shown when a view fails */
    }
    clear(authBox, h('span', null, who), ' ', h('button', { class: 'link', onclick: () => {
      setToken(null);
      reconnect();
      renderAuth();
      showLogin();
    } }, 'Sign out'));
  } else {
    clear(authBox);
  }
}

onUnauthenticated(() => {
  authMode = 'enforced';
  setToken(null);
  renderAuth();
  showLogin('Your token was refused or has expired.');
});

async function start(): Promise<void> {
  try {
    const health = await get('/healthz');
    authMode = health?.auth?.mode === 'dev' ? 'dev' : 'enforced';
  } catch (e) {
    clear(main, errorBox(e, 'the server does not answer /healthz'));
    return;
  }
  await renderAuth();
  window.addEventListener('hashchange', () => void render());
  await render();
}

void start();
