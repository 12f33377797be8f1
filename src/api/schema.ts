/** TypeBox helpers every component's HTTP schemas use. */
import { Type } from '@fastify/type-provider-typebox';

/** `t` or null. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
