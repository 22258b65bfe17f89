/** The in-process coordination (single host) passes the coordination contract as one instance. */
import { runCoordinationContract } from './contract-suite.js';
import { LocalCoordination } from './local.js';

runCoordinationContract('local', {
  async world() {
    const coord = new LocalCoordination();
    await coord.start();
    let count = 0;
    return {
      coords: [coord],
      add: async () => { throw new Error('the local coordination is one instance'); },
      counter: {
        // Yields between read and write, as a database round trip would: a missing lock shows.
        read: async () => { await new Promise((r) => setImmediate(r)); return count; },
        add: async () => { await new Promise((r) => setImmediate(r)); count += 1; },
      },
      crash: null,
      close: () => coord.close(),
    };
  },
});
