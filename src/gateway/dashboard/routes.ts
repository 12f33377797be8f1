/** Serves the dashboard: a static page and its scripts, and uPlot from node_modules (no CDN). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type ApiInstance, HttpError, Type } from '../../api/index.ts';

const require = createRequire(import.meta.url);
const here = (file: string) => new URL(`./public/${file}`, import.meta.url);
const uplotDist = (file: string) => require.resolve(`uplot/dist/${file}`);

/** Every file the page may load, by name: nothing else is reachable, so no path can escape. */
const ASSETS: Record<string, { path: URL | string; type: string }> = {
  'app.js': { path: here('app.js'), type: 'text/javascript; charset=utf-8' },
  'app.css': { path: here('app.css'), type: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': { path: uplotDist('uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: uplotDist('uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** Reads each file once in production; on every request otherwise, so edits show on reload. */
function fileLoader(cacheFiles: boolean): (path: URL | string) => string {
  const cache = new Map<string, string>();
  return (path) => {
    const key = String(path);
    let body = cache.get(key);
    if (!body) {
      body = readFileSync(path, 'utf8');
      if (cacheFiles) cache.set(key, body);
    }
    return body;
  };
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function dashboardRoutes(app: ApiInstance, opts: { cacheFiles: boolean }): void {
  const load = fileLoader(opts.cacheFiles);
  app.get(
    '/',
    { schema: { summary: 'The live dashboard (HTML)', tags: ['dashboard'], response: { 200: Type.String() } } },
    async (_req, reply) =>
      reply
        .headers({ ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' })
        .send(load(here('index.html'))),
  );
  app.get(
    '/dashboard/:file',
    {
      schema: {
        summary: 'Dashboard assets (scripts, styles)',
        tags: ['dashboard'],
        params: Type.Object({ file: Type.String({ maxLength: 64, examples: ['app.js'] }) }),
        response: { 200: Type.String(), 404: Type.Ref('Error') },
      },
    },
    async (request, reply) => {
      const asset = Object.hasOwn(ASSETS, request.params.file) ? ASSETS[request.params.file] : undefined;
      if (!asset) throw new HttpError(404, `no dashboard file ${request.params.file}`, 'params.file');
      return reply
        .headers({ ...SECURITY_HEADERS, 'content-type': asset.type, 'cache-control': 'no-cache' })
        .send(load(asset.path));
    },
  );
}
