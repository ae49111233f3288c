// Builds the dashboard into OUT_DIR (default ../build/web): OUT_DIR/index.html and
// OUT_DIR/assets/*, every asset named by a hash of its content (the server caches them
// forever; index.html is always revalidated). three.js is split into its own chunk, loaded
// only when the scene is opened. No network at run time: everything is bundled.
//
//   node build.mjs OUT_DIR
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, '..', 'build', 'web'));
const assets = join(out, 'assets');
rmSync(assets, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  entryPoints: { app: join(here, 'src', 'main.ts') },
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  sourcemap: 'linked',
  outdir: assets,
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked',
});

const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([, o]) => o.entryPoint?.endsWith('main.ts'));
if (!entry) throw new Error('esbuild produced no entry script');
const script = basename(entry[0]);
const css = entry[1].cssBundle ? basename(entry[1].cssBundle) : null;
const template = readFileSync(join(here, 'index.html'), 'utf8');
const html = template
  .replace('<!--STYLES-->', css ? `<link rel="stylesheet" href="/assets/${css}">` : '')
  .replace('<!--SCRIPT-->', `<script type="module" src="/assets/${script}"></script>`);
writeFileSync(join(out, 'index.html'), html);
const bytes = outputs.reduce((sum, [, o]) => sum + o.bytes, 0);
console.log(`web-build: ${out}/index.html and ${outputs.length} assets (${Math.round(bytes / 1024)} KiB)`);
