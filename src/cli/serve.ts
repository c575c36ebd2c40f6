/** `veritrail serve`: runs a node until SIGTERM or SIGINT, then shuts down cleanly. */
import { buildApp } from '../api/app.ts';
import { VeritrailNode } from '../api/node.ts';
import type { NodeConfig } from '../api/node-config.ts';
import { describePostgresUrl } from '../store/postgres/postgres-config.ts';
import type { FastifyBaseLogger } from 'fastify';

export async function serve(config: NodeConfig): Promise<void> {
  // Failed deliveries are logged once the app's logger exists (each attempt, at warn; the
  // destination's status API carries the same error).
  let log: FastifyBaseLogger | undefined;
  const node = await VeritrailNode.open({
    log: true,
    ...config,
    forwarding: {
      ...config.forwarding,
      onError: (projectId, destinationId, error) => log?.warn({ projectId, destinationId, err: error }, "couldn't forward events"),
    },
  });
  if (node.firstKey) {
    // Shown once, here only: the store keeps just its hash.
    process.stdout.write(
      `\nVeritrail created the first ORG_OWNER key. It is shown once; keep it now:\n\n  ${node.firstKey}\n\n`,
    );
  }
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp(node);
  } catch (error) {
    // The node already runs (its checkpointer, forwarders, workers): stop it, or the process
    // would neither serve nor exit.
    await node.close();
    throw error;
  }
  log = app.log;
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
