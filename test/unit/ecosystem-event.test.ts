import avsc from 'avsc';
import { describe, expect, it } from 'vitest';
import { type EcosystemEvent, loadSchema } from '../../schemas/index.ts';
import { ecosystemEvent } from '../../src/app/index.ts';

const { Type } = avsc;

describe('ecosystem event kinds', () => {
  it('are written once, as the enum and as its text', () => {
    const e = ecosystemEvent({
      component: 'relay',
      kind: 'route_paused',
      severity: 'WARNING',
      subject: 'orders',
      message: 'no endpoint',
      data: {},
    });
    expect(e).toMatchObject({ kind: 'route_paused', kindCode: 'route_paused', component: 'relay' });
    expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
    const current = Type.forSchema(loadSchema('ecosystem-event') as avsc.Schema);
    expect((current.fromBuffer(current.toBuffer(e)) as EcosystemEvent).kindCode).toBe('route_paused');
  });

  it('resolve on records written before the enum existed: kindCode unknown, the text kept', () => {
    const current = loadSchema('ecosystem-event') as { fields: { name: string }[] };
    const first = { ...current, fields: current.fields.filter((f) => f.name !== 'kindCode') };
    const writer = Type.forSchema(first as avsc.Schema);
    const reader = Type.forSchema(current as avsc.Schema);
    const old = { id: 'e1', component: 'relay', kind: 'breaker_state', severity: 'WARNING', subject: null };
    const buf = writer.toBuffer({ ...old, message: 'opened', data: {}, at: 1 });
    const read = reader.fromBuffer(buf, reader.createResolver(writer)) as EcosystemEvent;
    expect(read).toMatchObject({ kind: 'breaker_state', kindCode: 'unknown' });
  });
});
