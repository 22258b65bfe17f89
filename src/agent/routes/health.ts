/** GET /health (runtime.md §2.1): no auth; a token, valid or not, is tolerated. */
import { reply, type Router } from '../http.js';

export function registerHealthRoutes(router: Router): void {
  router.get('/health', () => reply({ success: true, status: 'ok' }), { public: true });
}
