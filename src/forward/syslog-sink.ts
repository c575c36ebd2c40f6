/**
 * Remote syslog: RFC 5424 messages over TCP with octet-counting framing (RFC 6587 §3.4.1),
 * over TLS (RFC 5425, same framing), or over UDP, one message per datagram (RFC 5426).
 *
 * What "delivered" means here: syslog has no acknowledgement. Over TCP and TLS a batch counts
 * as delivered once the socket has handed all of it to the kernel (the write callback). A peer
 * that dies with bytes still in flight loses them; that is the protocol's limit (RELP would lift
 * it) and the README says so. Over UDP a datagram counts as delivered when sent.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import type { SyslogDestination } from './destination.ts';
import { jsonLine, type ForwardEvent } from './forward-event.ts';
import { qumuloCsv, qumuloSyslogJson } from './qumulo-format.ts';
import { DeliveryError, errorDetail, type Sink } from './sink.ts';
import { octetCounted, rfc5424, syslogHostname } from './syslog-format.ts';

const CONNECT_TIMEOUT_MS = 5_000;
/** A receiver that stops reading for this long is dropped and redialled. */
const WRITE_TIMEOUT_MS = 30_000;
/** The largest UDP payload over IPv4; longer messages are cut (RFC 5426 §3.2 allows it). */
const MAX_DATAGRAM = 65_507;

const BODY: Record<SyslogDestination['format'], (e: ForwardEvent) => string> = {
  json: jsonLine,
  csv: qumuloCsv,
  'qumulo-json': qumuloSyslogJson,
};

export class SyslogSink implements Sink {
  private socket: net.Socket | undefined;
  private udp: dgram.Socket | undefined;
  private readonly hostname: string;

  constructor(
    private readonly config: SyslogDestination,
    hostname: string,
  ) {
    this.hostname = syslogHostname(hostname);
  }

  async deliver(events: readonly ForwardEvent[], signal: AbortSignal): Promise<number> {
    const body = BODY[this.config.format];
    const messages = events.map((e) => rfc5424(e.receivedAt, this.hostname, this.config.appName, body(e)));
    try {
      if (this.config.transport === 'udp') await this.sendDatagrams(messages);
      else await this.write(await this.connect(signal), Buffer.from(messages.map(octetCounted).join(''), 'utf8'), signal);
      return events.length;
    } catch (error) {
      this.drop();
      throw new DeliveryError(`Couldn't send audit messages to ${this.config.host}:${this.config.port} over ${this.config.transport}`, errorDetail(error), { cause: error });
    }
  }

  private connect(signal: AbortSignal): Promise<net.Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    const { host, port } = this.config;
    return new Promise((resolve, reject) => {
      const socket =
        this.config.transport === 'tls'
          ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ca: this.config.tlsCa, rejectUnauthorized: this.config.tlsRejectUnauthorized ?? true })
          : net.connect({ host, port });
      const fail = (error: Error) => {
        cleanup();
        socket.destroy();
        reject(error);
      };
      const onAbort = () => fail(new Error('aborted'));
      const timer = setTimeout(() => fail(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      const cleanup = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', fail);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('error', fail);
      socket.once(this.config.transport === 'tls' ? 'secureConnect' : 'connect', () => {
        cleanup();
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 30_000);
        // From here on a failure shows at the next write; the socket is dropped and redialled.
        socket.on('error', () => this.drop(socket));
        socket.on('close', () => this.drop(socket));
        // The receiver never talks; if it closes its side, it is gone.
        socket.on('end', () => this.drop(socket));
        socket.resume();
        this.socket = socket;
        resolve(socket);
      });
    });
  }

  /** Resolves once the kernel has the bytes. A receiver that stops reading is cut off by `signal` or the timeout. */
  private write(socket: net.Socket, data: Buffer, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (socket.destroyed) return reject(new Error('the connection is closed'));
      const onAbort = () => socket.destroy(new Error('aborted'));
      const timer = setTimeout(() => socket.destroy(new Error(`the receiver took no data for ${WRITE_TIMEOUT_MS} ms`)), WRITE_TIMEOUT_MS);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.write(data, (error) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      });
    });
  }

  private async sendDatagrams(messages: string[]): Promise<void> {
    if (!this.udp) {
      const udp = dgram.createSocket(net.isIPv6(this.config.host) ? 'udp6' : 'udp4');
      udp.on('error', () => this.drop());
      this.udp = udp;
    }
    const udp = this.udp;
    for (const message of messages) {
      const bytes = Buffer.from(message, 'utf8').subarray(0, MAX_DATAGRAM);
      await new Promise<void>((resolve, reject) => udp.send(bytes, this.config.port, this.config.host, (error) => (error ? reject(error) : resolve())));
    }
  }

  /** Forgets a broken connection (or the given one, if it is still current). */
  private drop(socket: net.Socket | undefined = this.socket): void {
    if (socket && socket === this.socket) this.socket = undefined;
    socket?.destroy();
    if (!socket && this.udp) {
      this.udp.close();
      this.udp = undefined;
    }
  }

  async close(): Promise<void> {
    // Writes whose callback fired are in the kernel already; anything else was never counted
    // as delivered, so destroying rather than flushing loses nothing.
    this.socket?.destroy();
    this.socket = undefined;
    this.udp?.close();
    this.udp = undefined;
  }
}
