/**
 * Model artifacts on Kafka, so that any instance serves a champion without a disk shared with the
 * NeuroWeaver that trained it. A version's folder (model.json, weights.bin, state.json) is bundled,
 * cut into chunks small enough for the broker's default record size, and written to the compacted
 * `model.artifacts` topic under `<model>/<version>/<index>` before the registry record that points
 * to them; the record carries the chunk count and the bundle's checksum. MODEL_SAVE_PATH is a cache:
 * a version missing there is fetched from the topic, checked, and unpacked into it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { ArtifactRef, ModelVersion } from '../../schemas/index.ts';
import { type KafkaConnection, replayWindow } from '../kafka/index.ts';

/** Under the broker's default max.message.bytes (1 MiB) with room for the record's other fields. */
const CHUNK_BYTES = 256 * 1024;
const FILES = ['model.json', 'weights.bin', 'state.json'] as const;

export const artifactDir = (root: string, relative: string) => resolve(root, relative);
const chunkKey = (model: string, version: string, index: number) => `${model}/${version}/${index}`;

/** Files as one buffer: a length-prefixed JSON list of names and sizes, then the files' bytes in that order. */
export function bundle(files: { name: string; data: Buffer }[]): Buffer {
  const header = Buffer.from(JSON.stringify(files.map((f) => ({ name: f.name, size: f.data.length }))));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length);
  return Buffer.concat([length, header, ...files.map((f) => f.data)]);
}

export function unbundle(data: Buffer): { name: string; data: Buffer }[] {
  const headerEnd = 4 + data.readUInt32BE(0);
  const entries = JSON.parse(data.subarray(4, headerEnd).toString('utf8')) as { name: string; size: number }[];
  let at = headerEnd;
  return entries.map((e) => {
    const file = { name: e.name, data: data.subarray(at, at + e.size) };
    at += e.size;
    if (at > data.length) throw new Error(`artifact bundle truncated in ${e.name}`);
    return file;
  });
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export class ModelArtifactStore {
  private readonly kafka: KafkaConnection;
  private readonly cacheRoot: string;
  /** One fetch per version at a time. */
  private readonly fetching = new Map<string, Promise<string>>();

  constructor(kafka: KafkaConnection, cacheRoot: string) {
    this.kafka = kafka;
    this.cacheRoot = cacheRoot;
  }

  /** Writes a version's folder to model.artifacts; returns the reference its registry record carries. */
  async publish(model: string, version: string, dir: string): Promise<ArtifactRef> {
    const files = await Promise.all(FILES.map(async (name) => ({ name, data: await readFile(join(dir, name)) })));
    const data = bundle(files);
    const count = Math.max(1, Math.ceil(data.length / CHUNK_BYTES));
    const producer = await this.kafka.producer();
    // One chunk per request: a batch of several would pass the broker's record batch size.
    for (let index = 0; index < count; index++) {
      const chunk = data.subarray(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES);
      await producer.send('model.artifacts', [
        { key: chunkKey(model, version, index), value: { model, version, index, count, data: chunk } },
      ]);
    }
    return { chunks: count, bytes: data.length, sha256: sha256(data) };
  }

  /** The local folder of a version's artifacts: the cache if it holds them, else fetched from Kafka into it. */
  async local(v: ModelVersion): Promise<string> {
    const dir = artifactDir(this.cacheRoot, v.artifactPath);
    if (await complete(dir)) return dir;
    if (!v.artifacts)
      throw new Error(`${dir} lacks the artifacts of ${v.model}/${v.version}, and the version has none on Kafka`);
    const key = `${v.model}/${v.version}`;
    let pending = this.fetching.get(key);
    if (!pending) {
      pending = this.fetch(v, v.artifacts, dir).finally(() => this.fetching.delete(key));
      this.fetching.set(key, pending);
    }
    return pending;
  }

  /** Deletes a version's chunks (tombstones; compaction removes them). */
  async remove(v: ModelVersion): Promise<void> {
    if (!v.artifacts) return;
    const producer = await this.kafka.producer();
    for (let index = 0; index < v.artifacts.chunks; index++)
      await producer.tombstone('model.artifacts', chunkKey(v.model, v.version, index));
  }

  private async fetch(v: ModelVersion, ref: ArtifactRef, dir: string): Promise<string> {
    const chunks = new Map<number, Buffer>();
    const prefix = `${v.model}/${v.version}/`;
    await replayWindow(this.kafka, {
      topic: this.kafka.catalog.name('model.artifacts'),
      onRecords: async (records) => {
        for (const r of records) {
          const key = r.key?.toString('utf8') ?? '';
          if (!key.startsWith(prefix)) continue;
          const index = Number(key.slice(prefix.length));
          if (r.value === null) chunks.delete(index);
          else chunks.set(index, (await this.kafka.serde.decode('model.artifacts', r.value)).value.data);
        }
      },
    });
    const parts = Array.from({ length: ref.chunks }, (_, i) => chunks.get(i));
    const missing = parts.flatMap((p, i) => (p ? [] : [i]));
    if (missing.length)
      throw new Error(`model.artifacts lacks chunks ${missing.join(', ')} of ${v.model}/${v.version}`);
    const data = Buffer.concat(parts as Buffer[]);
    if (data.length !== ref.bytes || sha256(data) !== ref.sha256)
      throw new Error(`the artifacts of ${v.model}/${v.version} on model.artifacts do not match their checksum`);
    await writeAtomically(dir, unbundle(data));
    return dir;
  }
}

async function complete(dir: string): Promise<boolean> {
  try {
    const present = new Set(await readdir(dir));
    return FILES.every((f) => present.has(f)) && (await stat(join(dir, 'weights.bin'))).isFile();
  } catch {
    return false;
  }
}

/** Written to a staging folder and renamed, so a reader never sees half a version. */
export async function writeAtomically(dir: string, files: { name: string; data: Buffer }[]): Promise<void> {
  const staging = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  await mkdir(staging, { recursive: true });
  try {
    for (const f of files) await writeFile(join(staging, f.name), f.data);
    await mkdir(dirname(dir), { recursive: true });
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
