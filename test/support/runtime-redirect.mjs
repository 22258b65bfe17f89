// Node preload (clients.md §5.3): the package hard-codes https://workspace.oblien.com for
// every CLI runtime command, with no flag or env var to change it. Loaded with
// NODE_OPTIONS="--import <this file>", it sends that traffic to $OBLIEN_RUNTIME_URL instead.
// Test-only; it touches nothing when OBLIEN_RUNTIME_URL is unset.
// Sends https://workspace.oblien.com traffic to $OBLIEN_RUNTIME_URL instead.
const target = process.env.OBLIEN_RUNTIME_URL;            // e.g. http://127.0.0.1:8080
const from = 'https://workspace.oblien.com';
if (target) {
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : null;
    if (url && url.startsWith(from)) input = target + url.slice(from.length);
    return realFetch(input, init);
  };
  if (globalThis.WebSocket) {             // Node ≥ 22, or 20.10+ with --experimental-websocket
    const Real = globalThis.WebSocket;
    const wsFrom = 'wss://workspace.oblien.com', wsTo = target.replace(/^http/, 'ws');
    globalThis.WebSocket = class extends Real {
      constructor(u, p) { const s = String(u); super(s.startsWith(wsFrom) ? wsTo + s.slice(wsFrom.length) : u, p); }
    };
  }
}
