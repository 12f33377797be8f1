/** Generates TypeScript types from the Avro schemas in schemas/, so the .avsc files stay the single source of truth. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

type Avro =
  | string
  | Avro[]
  | {
      type: string;
      name?: string;
      fields?: AvroField[];
      items?: Avro;
      values?: Avro;
      symbols?: string[];
      doc?: string;
    };
interface AvroField {
  name: string;
  type: Avro;
  default?: unknown;
  doc?: string;
}

const PRIMITIVES: Record<string, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Buffer',
  string: 'string',
};

export function generateTypes(schemaDir: string): string {
  declared.clear();
  const declarations: string[] = [];
  const files = readdirSync(schemaDir)
    .filter((f) => f.endsWith('.avsc'))
    .sort();
  const topLevel: string[] = [];
  const inputs: string[] = [];
  for (const file of files) {
    const schema = JSON.parse(readFileSync(join(schemaDir, file), 'utf8')) as Avro;
    const name = typeOf(schema, declarations);
    topLevel.push(`  '${file.replace(/\.avsc$/, '')}': ${name};`);
    if (typeof schema === 'object' && !Array.isArray(schema) && schema.type === 'record') {
      declarations.push(inputType(schema));
      inputs.push(`  '${file.replace(/\.avsc$/, '')}': ${name}Input;`);
    }
  }
  return [
    '// Generated from schemas/*.avsc by `npm run gen`. Do not edit by hand.',
    '/* eslint-disable */',
    '',
    ...declarations,
    '/** Value type of each schema file, by file name without `.avsc`. */',
    'export interface SchemaTypes {',
    ...topLevel,
    '}',
    '',
    '/** What a producer must give for each schema: fields with an Avro default may be left out. */',
    'export interface SchemaInputs {',
    ...inputs,
    '}',
    '',
  ].join('\n');
}

const declared = new Map<string, string>();

/**
 * Adds a named type once. Avro names are per schema, so two topics may declare the same vocabulary
 * (an action's kind on orchestrator.actions and on actions.results): it must then be the same.
 */
function declare(out: string[], name: string, code: string): void {
  const known = declared.get(name);
  if (known === undefined) {
    declared.set(name, code);
    out.push(code);
  } else if (known !== code) {
    throw new Error(`schemas declare ${name} twice, differently: make the two declarations the same or rename one`);
  }
}

function typeOf(schema: Avro, out: string[]): string {
  if (typeof schema === 'string') return PRIMITIVES[schema] ?? schema;
  if (Array.isArray(schema)) return schema.map((s) => typeOf(s, out)).join(' | ');
  switch (schema.type) {
    case 'record': {
      const fields = (schema.fields ?? []).map((f) => `${doc(f.doc, '  ')}  ${f.name}: ${typeOf(f.type, out)};`);
      declare(out, schema.name!, `${doc(schema.doc, '')}export interface ${schema.name} {\n${fields.join('\n')}\n}\n`);
      return schema.name!;
    }
    case 'enum': {
      // A vocabulary: the symbols as a runtime list (for validation and docs) and the union type derived from it.
      const constName = `${schema.name!.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_SYMBOLS`;
      const list = `[${schema.symbols!.map((s) => `'${s}'`).join(', ')}]`;
      declare(
        out,
        schema.name!,
        `${doc(schema.doc, '')}export const ${constName} = ${list} as const;\nexport type ${schema.name} = (typeof ${constName})[number];\n`,
      );
      return schema.name!;
    }
    case 'array':
      return `Array<${typeOf(schema.items!, out)}>`;
    case 'map':
      return `Record<string, ${typeOf(schema.values!, out)}>`;
    case 'fixed':
      return 'Buffer';
    default:
      return PRIMITIVES[schema.type] ?? schema.type;
  }
}

/** `<Name>Input`: what a producer must give; fields with an Avro default may be left out. */
function inputType(schema: { name?: string; fields?: AvroField[] }): string {
  const optional = (schema.fields ?? []).filter((f) => f.default !== undefined).map((f) => `'${f.name}'`);
  const base = schema.name!;
  if (!optional.length) return `export type ${base}Input = ${base};\n`;
  return `export type ${base}Input = Omit<${base}, ${optional.join(' | ')}> & Partial<Pick<${base}, ${optional.join(' | ')}>>;\n`;
}

function doc(text: string | undefined, indent: string): string {
  return text ? `${indent}/** ${text} */\n` : '';
}
