import { describe, expect, it } from 'vitest';
import { bundle, unbundle } from '../../src/shared/model-artifacts.ts';

describe('model artifact bundles', () => {
  it('round-trips the files, binary included, in order', () => {
    const files = [
      { name: 'model.json', data: Buffer.from('{"a":1}') },
      { name: 'weights.bin', data: Buffer.from([0, 255, 1, 254, 0]) },
      { name: 'state.json', data: Buffer.alloc(0) },
    ];
    expect(unbundle(bundle(files)).map((f) => [f.name, [...f.data]])).toEqual(files.map((f) => [f.name, [...f.data]]));
  });

  it('refuses a truncated bundle', () => {
    const data = bundle([{ name: 'weights.bin', data: Buffer.alloc(100) }]);
    expect(() => unbundle(data.subarray(0, data.length - 1))).toThrow('artifact bundle truncated in weights.bin');
  });
});
