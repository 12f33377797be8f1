/**
 * The layers of CONTRIBUTING.md, enforced: components meet only at typed topics, never in code.
 *
 *   top-level programs (main.ts, components.ts, cli/, demo/)  may import anything
 *   components (relay/, ml/, detect/, orchestrator/, gateway/) import only themselves and the layers below
 *   lower layers (api/, app/, kafka/, shared/, errors/, ...) and the contracts (topics/, schemas/) import no component
 *
 * One exception: src/config composes every component's `config.ts` (its environment variables) into
 * one ENV, so it may import those files, and only those.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const COMPONENTS = ['relay', 'ml', 'detect', 'orchestrator', 'gateway'];
const PROGRAMS = ['main.ts', 'components.ts', 'cli', 'demo'];

type Area =
  | { kind: 'component'; name: string }
  | { kind: 'program'; name: string }
  | { kind: 'config' }
  | { kind: 'lower'; name: string }
  | { kind: 'outside' };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(e.name) ? [path] : [];
  });
}

/** Where a file sits: the first folder (or file) under src/, or the contracts folders beside it. */
function areaOf(file: string): Area {
  const [top, ...rest] = relative(ROOT, file).split(sep);
  if (top === 'topics' || top === 'schemas') return { kind: 'lower', name: top };
  if (top !== 'src' || rest.length === 0) return { kind: 'outside' };
  const name = rest[0]!;
  if (COMPONENTS.includes(name)) return { kind: 'component', name };
  if (PROGRAMS.includes(name)) return { kind: 'program', name };
  if (name === 'config') return { kind: 'config' };
  return { kind: 'lower', name };
}

// `import … from '…'`, `import '…'`, `export … from '…'` at the start of a line (Biome's layout), and `import('…')`.
const STATIC_IMPORT = /^\s*(?:import|export)\b(?:[^'"`;]*?\bfrom)?\s*['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]/g;

function specifiersOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(STATIC_IMPORT), ...text.matchAll(DYNAMIC_IMPORT)].map((m) => m[1]!);
}

/** Every relative import of a file (static, re-export, dynamic), resolved to a path. */
function importsOf(file: string): { specifier: string; target: string }[] {
  return specifiersOf(file)
    .filter((s) => s.startsWith('.'))
    .map((specifier) => ({ specifier, target: resolve(dirname(file), specifier) }));
}

/** Why an import breaks the layers, or undefined if it is allowed. */
function violation(from: Area, target: string): string | undefined {
  const to = areaOf(target);
  const isComponentConfig = to.kind === 'component' && relative(join(ROOT, 'src', to.name), target) === 'config.ts';
  switch (from.kind) {
    case 'program':
    case 'outside':
      return undefined;
    case 'config':
      if (to.kind === 'component' && !isComponentConfig)
        return `src/config may import only a component's config.ts, not ${to.name}'s internals`;
      if (to.kind === 'program') return `src/config imports the top-level program ${to.name}`;
      return undefined;
    case 'component':
      if (to.kind === 'component' && to.name !== from.name)
        return `component ${from.name} imports component ${to.name}`;
      if (to.kind === 'program') return `component ${from.name} imports the top-level program ${to.name}`;
      return undefined;
    case 'lower':
      if (to.kind === 'component') return `lower layer ${from.name} imports component ${to.name}`;
      if (to.kind === 'program') return `lower layer ${from.name} imports the top-level program ${to.name}`;
      return undefined;
  }
}

function forbiddenEdges(): string[] {
  const files = ['src', 'topics', 'schemas'].flatMap((d) => sourceFiles(join(ROOT, d)));
  return files.flatMap((file) => {
    const from = areaOf(file);
    return importsOf(file).flatMap(({ specifier, target }) => {
      const why = violation(from, target);
      return why ? [`${relative(ROOT, file)} → ${specifier} (${why})`] : [];
    });
  });
}

describe('architecture', () => {
  it('finds the imports it judges (relative, re-exports and dynamic ones)', () => {
    const index = importsOf(join(ROOT, 'src/components.ts')).map((i) => relative(ROOT, i.target));
    expect(index).toEqual(expect.arrayContaining(COMPONENTS.map((c) => `src/${c}/index.ts`)));
    const mlIndex = importsOf(join(ROOT, 'src/ml/index.ts')).map((i) => i.specifier);
    expect(mlIndex).toContain('./component.ts'); // a re-export
    const tensorflow = specifiersOf(join(ROOT, 'src/shared/tensorflow.ts'));
    expect(tensorflow).toContain('@tensorflow/tfjs'); // a dynamic import
    const relay = specifiersOf(join(ROOT, 'src/relay/index.ts'));
    expect(relay.length).toBeGreaterThan(1);
  });

  it('judges a cross-component import, a lower layer importing a component, and the config exception', () => {
    const src = (p: string) => join(ROOT, 'src', p);
    expect(violation(areaOf(src('relay/component.ts')), src('ml/index.ts'))).toMatch(/relay imports component ml/);
    expect(violation(areaOf(src('gateway/routes.ts')), src('cli/main.ts'))).toMatch(/top-level program cli/);
    expect(violation(areaOf(src('api/config.ts')), src('gateway/config.ts'))).toMatch(/lower layer api/);
    expect(violation(areaOf(join(ROOT, 'topics/index.ts')), src('relay/index.ts'))).toMatch(/lower layer topics/);
    expect(violation(areaOf(src('config/index.ts')), src('relay/config.ts'))).toBeUndefined();
    expect(violation(areaOf(src('config/index.ts')), src('relay/loop.ts'))).toMatch(/only a component's config/);
    expect(violation(areaOf(src('relay/component.ts')), src('shared/index.ts'))).toBeUndefined();
    expect(violation(areaOf(src('cli/main.ts')), src('detect/index.ts'))).toBeUndefined();
  });

  it('no component imports another component or a top-level program; no lower layer imports a component', () => {
    expect(forbiddenEdges()).toEqual([]);
  });

  it('only src/kafka imports kafkajs', () => {
    const files = ['src', 'bench', 'test'].flatMap((d) => sourceFiles(join(ROOT, d)));
    const outside = files.filter(
      (file) => !relative(ROOT, file).startsWith(`src${sep}kafka${sep}`) && specifiersOf(file).includes('kafkajs'),
    );
    expect(outside.map((f) => relative(ROOT, f))).toEqual([]);
  });
});
