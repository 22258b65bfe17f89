/** The backend conformance suite against the local backend: the Orchestrator over the memory driver. */
import { localBackend } from '../../test/support/local-backend.js';
import { poolReady, runBackendContract } from './backend-contract-suite.js';

runBackendContract('local (Orchestrator, memory driver)', {
  async world() {
    const local = await localBackend({ warmPool: 1 });
    return {
      backend: local.backend, expectedNode: null, inSubnet: local.inSubnet, readAgentToken: local.readAgentToken,
      expectedVia: undefined, close: () => local.close(),
      warmPool: { ready: () => poolReady(local.backend), creates: local.creates },
    };
  },
});
