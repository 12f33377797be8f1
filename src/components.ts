/** The components this build ships, by name. `COMPONENTS` selects which ones a process runs. */
import type { ComponentFactory } from './app/index.js';
import type { ComponentName } from './config/index.js';
import { createDetector } from './detect/index.js';
import { createGateway } from './gateway/index.js';
import { createNeuroWeaver } from './ml/index.js';
import { createOrchestrator } from './orchestrator/index.js';
import { createRelay } from './relay/index.js';

export const COMPONENT_FACTORIES: Partial<Record<ComponentName, ComponentFactory>> = {
  relay: createRelay,
  detect: createDetector,
  orchestrator: createOrchestrator,
  neuroweaver: createNeuroWeaver,
  gateway: createGateway,
};
