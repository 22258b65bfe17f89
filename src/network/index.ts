/**
 * Workspace networking: address allocation (addresses), host-route guard (routes),
 * the Warren bridge (bridge), the nftables baseline firewall (firewall) and the
 * per-sandbox netns + veth plumbing (plumbing).
 *
 * Start-up order: ensureBridge(bridge, subnet) → new Firewall({instanceId, bridge,
 * subnet}).ensure() → for each live sandbox: register({ip, hostIf}); then unregister
 * every `list()` entry that matches no live sandbox.
 * Per sandbox: allocate() → createNetns() → firewall.register() → start the sandbox;
 * teardown in reverse (unregister before deleting the veth).
 */
export * from './addresses.js';
export * from './routes.js';
export * from './bridge.js';
export * from './firewall.js';
export * from './plumbing.js';
