// Scene: the farm and the plant laid out in 3D (three.js) or as a 2D plan, each asset coloured
// by its live state and ringed red while it has an open alert; a click opens its twin view.
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { CSS2DObject, CSS2DRenderer } from 'three/examples/jsm/renderers/CSS2DRenderer.js';
import { enc, get } from '../api';
import type { Json } from '../api';
import { clear, empty, errorBox, h, svg } from '../dom';
import { shortModel } from '../models';
import { subscribe } from '../live';
import { Graph, loadGraph, Status, STATUS_COLOURS, statusOf } from '../twins';

interface Placed {
  id: string;
  x: number;
  z: number;
  kind: 'turbine' | 'machine';
  status: Status;
  alert: boolean;
}
interface Site {
  root: string;
  label: string;
  x0: number;
  z0: number;
  assets: Placed[];
}

// Sites are the roots; assets are the twins with a `state`. An asset's parent (a station) is
// its group and its grandparent (a line) its band: bands go back in depth, groups of a band
// side by side, the members of a group one behind the other; a band with one group (a farm's
// turbines) is laid out in a row.
function layout(graph: Graph): Site[] {
  const sites: Site[] = [];
  let z0 = 0;
  for (const root of graph.roots) {
    const bands = new Map<string, Map<string, string[]>>();
    const seen = new Set<string>();
    const walk = (id: string, parent: string, grandparent: string) => {
      if (seen.has(id)) return;
      seen.add(id);
      const t = graph.twins.get(id);
      if (t && id !== root && typeof t.doc.state === 'string') {
        const band = bands.get(grandparent) ?? bands.set(grandparent, new Map()).get(grandparent)!;
        (band.get(parent) ?? band.set(parent, []).get(parent)!).push(id);
      }
      for (const r of graph.children.get(id) ?? []) walk(r.target, id, parent);
    };
    walk(root, root, root);
    if (bands.size === 0) continue;
    const assets: Placed[] = [];
    let bandZ = 0;
    for (const [, groups] of [...bands.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const single = groups.size === 1;
      let gx = 0, depth = 0;
      for (const [, ids] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        ids.sort().forEach((id, i) => {
          const t = graph.twins.get(id)!;
          const turbine = /turbine/i.test(t.model) || /turbine/i.test(shortModel(t.model));
          const spacing = turbine ? 9 : 4;
          assets.push({ id, x: single ? i * spacing : gx, z: bandZ + (single ? 0 : i * 3.5), kind: turbine ? 'turbine' : 'machine', status: statusOf(t.doc), alert: false });
          depth = Math.max(depth, single ? 0 : i * 3.5);
        });
        gx += 6;
      }
      bandZ += depth + 6;
    }
    const minX = Math.min(...assets.map((a) => a.x)), maxX = Math.max(...assets.map((a) => a.x));
    assets.forEach((a) => (a.x -= (minX + maxX) / 2));
    sites.push({ root, label: graph.twins.get(root)?.doc.name ?? root, x0: 0, z0, assets });
    z0 += Math.max(...assets.map((a) => a.z)) + 16;
  }
  return sites;
}

// Labels without the site's common id prefix ("halden-l1-op10-cnc1" → "l1-op10-cnc1").
function shortLabels(site: Site): Map<string, string> {
  const ids = site.assets.map((a) => a.id);
  let prefix = ids[0] ?? '';
  for (const id of ids) while (!id.startsWith(prefix)) prefix = prefix.slice(0, -1);
  prefix = prefix.slice(0, prefix.lastIndexOf('-') + 1);
  return new Map(ids.map((id) => [id, ids.length > 1 && prefix ? id.slice(prefix.length) : id]));
}

function webglAvailable(): boolean {
  try {
    const c = document.createElement('canvas');
    return !!(c.getContext('webgl2') ?? c.getContext('webgl'));
  } catch {
    return false;
  }
}

export async function sceneView(root: HTMLElement): Promise<() => void> {
  const graph = await loadGraph(0);
  const sites = layout(graph);
  const info = h('div', { class: 'muted scene-info' });
  const stage = h('div', { class: 'scene-stage' });
  const has3d = webglAvailable();
  let mode: '3d' | '2d' = has3d ? '3d' : '2d';
  const modeButtons = h('div', { class: 'tabs' },
    h('button', { 'data-mode': '3d', disabled: !has3d, title: has3d ? '' : 'WebGL is not available in this browser', onclick: () => setMode('3d') }, '3D'),
    h('button', { 'data-mode': '2d', onclick: () => setMode('2d') }, '2D plan'));
  const legend = h('div', { class: 'legend' }, ...(['running', 'curtailed', 'stopped', 'fault', 'idle', 'unknown'] as Status[]).map((s) =>
    h('span', null, h('span', { class: 'dot', style: `background:${STATUS_COLOURS[s]}` }), s)),
  h('span', null, h('span', { class: 'ring' }), 'open alert'));
  root.append(h('div', { class: 'scene-head' }, h('h1', null, 'Scene'), modeButtons, legend), stage, info);
  if (sites.length === 0) {
    clear(stage, empty('No assets with a state to show. Load the examples (make demo).'));
    return () => undefined;
  }
  const byId = new Map<string, Placed>();
  sites.forEach((s) => s.assets.forEach((a) => byId.set(a.id, a)));

  let painter: { update(a: Placed): void; dispose(): void; spin?(id: string, rpm: number): void } | null = null;
  const setMode = (m: '3d' | '2d') => {
    mode = m;
    modeButtons.querySelectorAll('button').forEach((b) => b.classList.toggle('active', b.dataset.mode === m));
    painter?.dispose();
    clear(stage);
    painter = m === '3d' ? threeScene(stage, sites) : planScene(stage, sites);
  };
  setMode(mode);

  // Live status: property updates of every placed twin; rotor speeds for the blades.
  const ids = [...byId.keys()];
  const unsubscribe = subscribe({ twins: ids, events: ['properties', 'telemetry'], paths: ['rotorSpeed'] }, (m: Json) => {
    const a = byId.get(m.twin);
    if (!a) return;
    if (m.type === 'telemetry' && m.path === 'rotorSpeed' && typeof m.value === 'number') painter?.spin?.(a.id, m.value);
    if (m.type === 'twin' && m.event === 'Twin.Update') {
      const op = (m.patch ?? []).find((p: Json) => p.path === '/state');
      if (op) {
        a.status = statusOf({ state: op.value });
        painter?.update(a);
      }
    }
  });
  const refreshAlerts = async () => {
    try {
      const open = await get('/alerts?state=open&limit=1000');
      const alerted = new Set((open.value ?? []).map((x: Json) => x.twinId));
      for (const a of byId.values()) {
        const was = a.alert;
        a.alert = alerted.has(a.id) || [...alerted].some((t) => graph.parents.get(t as string)?.some((r) => r.source === a.id));
        if (was !== a.alert) painter?.update(a);
      }
      clear(info, `${byId.size} assets · ${alerted.size} with open alerts · click an asset to open it`);
    } catch (e) {
      clear(info, `${byId.size} assets · click an asset to open it · `, errorBox(e, 'alert state unavailable'));
    }
  };
  await refreshAlerts();
  const timer = setInterval(() => void refreshAlerts(), 15000);
  const unsubscribeAlerts = subscribe({ alerts: true }, (m: Json) => {
    if (m.type === 'alert') void refreshAlerts();
  });
  return () => {
    clearInterval(timer);
    unsubscribe();
    unsubscribeAlerts();
    painter?.dispose();
  };
}

function open(id: string): void {
  location.hash = `#/twin/${enc(id)}`;
}

function planScene(stage: HTMLElement, sites: Site[]) {
  const scale = 22;
  const all = sites.flatMap((s) => s.assets.map((a) => ({ ...a, z: a.z + s.z0 })));
  const minX = Math.min(...all.map((a) => a.x)) - 3, maxX = Math.max(...all.map((a) => a.x)) + 3;
  const maxZ = Math.max(...all.map((a) => a.z)) + 3;
  const width = (maxX - minX) * scale, height = (maxZ + 5) * scale;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'plan', role: 'img', 'aria-label': 'Plan of the sites' });
  const marks = new Map<string, { body: SVGElement; ring: SVGElement }>();
  for (const site of sites) {
    const label = svg('text', { x: 8, y: (site.z0 + 1) * scale, class: 'site-label' });
    label.textContent = site.label;
    root.appendChild(label);
    const names = shortLabels(site);
    for (const a of site.assets) {
      const cx = (a.x - minX) * scale, cy = (a.z + site.z0 + 3) * scale;
      const ring = svg('circle', { cx, cy, r: 16, class: 'alert-ring' });
      const body = a.kind === 'turbine' ? svg('circle', { cx, cy, r: 11 }) : svg('rect', { x: cx - 11, y: cy - 11, width: 22, height: 22, rx: 3 });
      const text = svg('text', { x: cx, y: cy + 30, 'text-anchor': 'middle', class: 'asset-label' });
      text.textContent = names.get(a.id) ?? a.id;
      const g = svg('a', { href: `#/twin/${enc(a.id)}`, class: 'asset', 'data-twin': a.id }, ring, body, text);
      g.appendChild(svg('title', {}, document.createTextNode(`${a.id}: ${a.status}`)));
      root.appendChild(g);
      marks.set(a.id, { body, ring });
    }
  }
  const update = (a: Placed) => {
    const m = marks.get(a.id);
    if (!m) return;
    m.body.setAttribute('fill', STATUS_COLOURS[a.status]);
    m.ring.style.display = a.alert ? '' : 'none';
  };
  all.forEach((a) => update(a));
  stage.append(h('div', { class: 'plan-wrap' }, root));
  return { update, dispose: () => root.remove() };
}

function threeScene(stage: HTMLElement, sites: Site[]) {
  const width = stage.clientWidth || 800, height = Math.max(360, Math.min(620, window.innerHeight - 220));
  const renderer = new THREE.WebGLRenderer({ antialias: true });
  renderer.setPixelRatio(Math.min(devicePixelRatio, 2));
  renderer.setSize(width, height);
  const labels = new CSS2DRenderer();
  labels.setSize(width, height);
  labels.domElement.className = 'scene-labels';
  const wrap = h('div', { class: 'scene-wrap', style: `height:${height}px` }, renderer.domElement, labels.domElement);
  stage.append(wrap);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color('#eef2f6');
  const maxZ = Math.max(...sites.map((s) => s.z0 + Math.max(...s.assets.map((a) => a.z))));
  const camera = new THREE.PerspectiveCamera(45, width / height, 0.1, 1000);
  camera.position.set(0, 26, maxZ + 22);
  const controls = new OrbitControls(camera, labels.domElement);
  controls.target.set(0, 0, maxZ / 2);
  controls.update();
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8899aa, 2.2));
  const sun = new THREE.DirectionalLight(0xffffff, 1.5);
  sun.position.set(20, 40, 10);
  scene.add(sun);
  const ground = new THREE.Mesh(new THREE.PlaneGeometry(400, 400), new THREE.MeshLambertMaterial({ color: '#d9e3d2' }));
  ground.rotation.x = -Math.PI / 2;
  scene.add(ground);

  const meshes = new Map<string, { body: THREE.MeshLambertMaterial; ring: THREE.Mesh; rotor?: THREE.Object3D; rpm: number }>();
  const pickables: THREE.Object3D[] = [];
  for (const site of sites) {
    const siteLabel = h('div', { class: 'site-tag' }, site.label);
    const tag = new CSS2DObject(siteLabel);
    tag.position.set(Math.min(...site.assets.map((a) => a.x)) - 4, 0.5, site.z0);
    scene.add(tag);
    const names = shortLabels(site);
    for (const a of site.assets) {
      const group = new THREE.Group();
      group.position.set(a.x, 0, a.z + site.z0);
      group.userData.twin = a.id;
      const material = new THREE.MeshLambertMaterial({ color: STATUS_COLOURS[a.status] });
      let rotor: THREE.Object3D | undefined;
      if (a.kind === 'turbine') {
        const tower = new THREE.Mesh(new THREE.CylinderGeometry(0.25, 0.45, 8, 12), new THREE.MeshLambertMaterial({ color: '#f4f6f8' }));
        tower.position.y = 4;
        const nacelle = new THREE.Mesh(new THREE.BoxGeometry(0.9, 0.9, 2), material);
        nacelle.position.set(0, 8.2, 0);
        rotor = new THREE.Group();
        rotor.position.set(0, 8.2, 1.1);
        for (let i = 0; i < 3; i++) {
          const blade = new THREE.Mesh(new THREE.BoxGeometry(0.3, 4, 0.08), new THREE.MeshLambertMaterial({ color: '#ffffff' }));
          blade.position.y = 2;
          const arm = new THREE.Group();
          arm.rotation.z = (i * 2 * Math.PI) / 3;
          arm.add(blade);
          rotor.add(arm);
        }
        group.add(tower, nacelle, rotor);
      } else {
        const box = new THREE.Mesh(new THREE.BoxGeometry(2.2, 1.6, 2.2), material);
        box.position.y = 0.8;
        group.add(box);
      }
      const ring = new THREE.Mesh(new THREE.TorusGeometry(a.kind === 'turbine' ? 2 : 1.9, 0.15, 8, 40), new THREE.MeshBasicMaterial({ color: '#d64545' }));
      ring.rotation.x = Math.PI / 2;
      ring.position.y = 0.1;
      ring.visible = a.alert;
      group.add(ring);
      const label = new CSS2DObject(h('div', { class: 'asset-tag', 'data-twin': a.id, title: a.id }, names.get(a.id) ?? a.id));
      label.position.set(0, a.kind === 'turbine' ? 11 : 2.4, 0);
      group.add(label);
      group.traverse((o) => { o.userData.twin = a.id; });
      scene.add(group);
      pickables.push(group);
      meshes.set(a.id, { body: material, ring, rotor, rpm: a.status === 'running' ? 10 : 0 });
    }
  }

  const raycaster = new THREE.Raycaster();
  let down: { x: number; y: number } | null = null;
  const el = labels.domElement;
  const onDown = (e: PointerEvent) => { down = { x: e.clientX, y: e.clientY }; };
  const onUp = (e: PointerEvent) => {
    if (!down || Math.hypot(e.clientX - down.x, e.clientY - down.y) > 5) return;
    const rect = el.getBoundingClientRect();
    raycaster.setFromCamera(new THREE.Vector2(((e.clientX - rect.left) / rect.width) * 2 - 1, -((e.clientY - rect.top) / rect.height) * 2 + 1), camera);
    const hit = raycaster.intersectObjects(pickables, true)[0];
    if (hit?.object.userData.twin) open(hit.object.userData.twin);
  };
  el.addEventListener('pointerdown', onDown);
  el.addEventListener('pointerup', onUp);
  el.addEventListener('click', (e) => {
    const target = (e.target as HTMLElement).closest('[data-twin]') as HTMLElement | null;
    if (target?.dataset.twin) open(target.dataset.twin);
  });

  let frame = 0;
  let last = performance.now();
  const tick = (now: number) => {
    const dt = (now - last) / 1000;
    last = now;
    for (const m of meshes.values()) if (m.rotor) m.rotor.rotation.z -= (m.rpm / 60) * 2 * Math.PI * dt;
    controls.update();
    renderer.render(scene, camera);
    labels.render(scene, camera);
    frame = requestAnimationFrame(tick);
  };
  frame = requestAnimationFrame(tick);
  const resize = new ResizeObserver(() => {
    const w = stage.clientWidth;
    if (w > 0) {
      renderer.setSize(w, height);
      labels.setSize(w, height);
      camera.aspect = w / height;
      camera.updateProjectionMatrix();
    }
  });
  resize.observe(stage);
  return {
    update: (a: Placed) => {
      const m = meshes.get(a.id);
      if (!m) return;
      m.body.color.set(STATUS_COLOURS[a.status]);
      m.ring.visible = a.alert;
      if (a.status !== 'running' && a.status !== 'curtailed') m.rpm = 0;
    },
    spin: (id: string, rpm: number) => {
      const m = meshes.get(id);
      if (m) m.rpm = rpm;
    },
    dispose: () => {
      cancelAnimationFrame(frame);
      resize.disconnect();
      controls.dispose();
      renderer.dispose();
      scene.traverse((o) => {
        if (o instanceof THREE.Mesh) {
          o.geometry.dispose();
          (Array.isArray(o.material) ? o.material : [o.material]).forEach((mat: THREE.Material) => mat.dispose());
        }
      });
      wrap.remove();
    },
  };
}
