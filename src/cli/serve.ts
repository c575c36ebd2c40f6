/** `veritrail serve`: runs a node until SIGTERM or SIGINT, then shuts down cleanly. */
import { buildApp } from '../api/app.ts';
import { VeritrailNode } from '../api/node.ts';
import type { NodeConfig } from '../api/node-config.ts';
import { describePostgresUrl } from '../store/postgres/postgres-config.ts';

export async function serve(config: NodeConfig): Promise<void> {
  const node = await VeritrailNode.open({ log: true, ...config });
  if (node.firstKey) {
    // Shown once, here only: the store keeps just its hash.
    process.stdout.write(
      `\nVeritrail created the first ORG_OWNER key. It is shown once; keep it now:\n\n  ${node.firstKey}\n\n`,
    );
  }
  const app = await buildApp(node);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping: finishing in-flight commits');
    // Stop accepting requests and let the ones in flight finish; they wait on the sequencer,
    // which keeps committing until its queue is empty. Then sign and close the store.
    await app.close();
    await node.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  const address = await app.listen({ host: node.config.host, port: node.config.port });
  const where = node.config.storeUrl ? `store ${describePostgresUrl(node.config.storeUrl)}` : `data in ${node.config.dataDir}`;
  process.stdout.write(`Veritrail is listening on ${address} (${where})\n`);
}
