/**
 * A local TCP syslog receiver (node:net on 127.0.0.1) that parses RFC 6587 octet-counted
 * frames and keeps every message, for tests that need to stop and restart the receiver.
 */
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface SyslogListener {
  port: number;
  messages: string[];
  close(): Promise<void>;
}

export async function startSyslogListener(port = 0, messages: string[] = []): Promise<SyslogListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) break;
        const length = Number(buffer.subarray(0, space).toString('ascii'));
        if (buffer.length < space + 1 + length) break;
        messages.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
        buffer = buffer.subarray(space + 1 + length);
      }
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    messages,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
