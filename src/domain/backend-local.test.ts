/** The backend conformance suite against the local backend: the Orchestrator over the memory driver. */
import { localBackend } from '../../test/support/local-backend.js';
import { runBackendContract } from './backend-contract-suite.js';

runBackendContract('local (Orchestrator, memory driver)', {
  async world() {
    const local = await localBackend();
    return {
      backend: local.backend, expectedNode: null, inSubnet: local.inSubnet, readAgentToken: local.readAgentToken,
      expectedVia: undefined, close: () => local.close(),
    };
  },
});
