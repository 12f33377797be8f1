/** The components this build ships, by name. `COMPONENTS` selects which ones a process runs. */
import type { ComponentFactory } from './app/index.ts';
import type { ComponentName } from './config/index.ts';
import { createDetector } from './detect/index.ts';
import { createGateway } from './gateway/index.ts';
import { createNeuroWeaver } from './ml/index.ts';
import { createOrchestrator } from './orchestrator/index.ts';
import { createRelay } from './relay/index.ts';

export const COMPONENT_FACTORIES: Partial<Record<ComponentName, ComponentFactory>> = {
  relay: createRelay,
  detect: createDetector,
  orchestrator: createOrchestrator,
  neuroweaver: createNeuroWeaver,
  gateway: createGateway,
};
