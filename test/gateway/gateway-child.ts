/**
 * The gateway in its own process, so a test can read its peak RSS from /proc.
 * GATEWAY_TABLE: JSON token → RuntimeRoute map. Prints "PORT <n>" when listening.
 */
import { startGatewayServer, type RouteTable } from './harness.js';

const table = JSON.parse(process.env.GATEWAY_TABLE ?? '{}') as RouteTable;
const gw = await startGatewayServer(table);
process.stdout.write(`PORT ${gw.port}\n`);
process.on('SIGTERM', () => {
  void gw.close().finally(() => process.exit(0));
});
