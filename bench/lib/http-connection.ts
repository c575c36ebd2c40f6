/**
 * One keep-alive HTTP/1.1 connection that writes pre-serialised requests (head and body in one
 * buffer) and reads just enough of each response to know its status and where it ends. One
 * request in flight at a time, no pipelining. This is all a load generator needs, and it costs
 * a few microseconds a request, so the generator is not what limits the rate.
 */
import net from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n');

export interface Response {
  status: number;
  /** performance.now() when the request was written. */
  sentAt: number;
}

export class HttpConnection {
  private socket: net.Socket | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private sentAt = 0;
  private onResponse: ((response: Response | Error) => void) | undefined;
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  get busy(): boolean {
    return this.onResponse !== undefined;
  }

  /** Sends one request; the callback gets its response, or the error that lost it. */
  send(request: Buffer, callback: (response: Response | Error) => void): void {
    if (this.onResponse) throw new Error('a request is already in flight on this connection');
    this.onResponse = callback;
    this.socket ??= this.connect();
    this.sentAt = performance.now();
    this.socket.write(request);
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }

  private connect(): net.Socket {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    const lost = (error: Error) => {
      // A socket already given up (after `connection: close`) has nothing in flight.
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.pending = [];
      this.pendingBytes = 0;
      this.finish(error);
    };
    socket.on('error', lost);
    socket.on('close', () => lost(new Error('connection closed by the server')));
    return socket;
  }

  private read(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const data = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    const headEnd = data.indexOf(HEAD_END);
    if (headEnd < 0) return;
    const head = data.toString('latin1', 0, headEnd).toLowerCase();
    const status = Number(head.slice(9, 12));
    let end: number;
    const length = /\r\ncontent-length: *(\d+)/.exec(head);
    if (length) end = headEnd + 4 + Number(length[1]);
    else if (head.includes('\r\ntransfer-encoding: chunked')) {
      const last = data.indexOf(CHUNKED_END, headEnd + 2);
      end = last < 0 ? Infinity : last + CHUNKED_END.length;
    } else end = headEnd + 4;
    if (data.length < end) {
      this.pending = [data];
      return;
    }
    // One request in flight, so nothing may follow the response.
    this.pending = [];
    this.pendingBytes = 0;
    if (head.includes('\r\nconnection: close')) {
      this.socket?.destroy();
      this.socket = undefined;
    }
    this.finish({ status, sentAt: this.sentAt });
  }

  private finish(result: Response | Error): void {
    const callback = this.onResponse;
    this.onResponse = undefined;
    if (callback && !this.closed) callback(result);
  }
}
