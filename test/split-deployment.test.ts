import { describeSplitScenario } from './support/split-scenario.js';

describeSplitScenario('a split deployment: control plane and two sites as processes over mutual TLS', {
  deployment: 'split-e2e',
});
