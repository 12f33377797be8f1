/**
 * Consumer group names. Every group is scoped by the topic prefix, so deployments (and test runs)
 * that share a broker never share a group: a shared group of two deployments would hand one
 * deployment's partitions to the other's processes, which do not read those topics.
 *
 * - A shared group (`<prefix><name>`) is joined by every process of a deployment that splits the
 *   work: RelayCore's tiers, detection, the orchestrator's metrics, NeuroWeaver's triggers.
 * - A private group (`<prefix><name>.private-<hex>`) belongs to one consumer that reads a topic
 *   whole (route store, registry, replays, mirrors). It is deleted when its consumer disconnects;
 *   one left behind by a process that died is deleted by the next start (`sweepPrivateGroups`).
 */
import { randomBytes } from 'node:crypto';

const PRIVATE_MARK = '.private-';

export const sharedGroupId = (prefix: string, name: string): string => `${prefix}${name}`;

export const privateGroupId = (prefix: string, name: string): string =>
  `${prefix}${name}${PRIVATE_MARK}${randomBytes(6).toString('hex')}`;

export const isPrivateGroup = (groupId: string, prefix: string): boolean =>
  groupId.startsWith(prefix) && /\.private-[0-9a-f]{12}$/.test(groupId);
