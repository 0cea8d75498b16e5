import type { IncomingMessage } from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import {
  decodeFrame,
  encodeFrame,
  FrameSplitter,
  GoAwayStatus,
  HeaderCompression,
  RstStatus,
  type SpdyFrame,
  type SpdyHeaders,
} from './spdy';

/**
 * The API server's side of `kubectl port-forward`: the pods/portforward upgrade, then the
 * `portforward.k8s.io` protocol over SPDY/3.1 that the kubelet speaks, with each forwarded
 * connection going to a local TCP target instead of into a pod's network namespace.
 *
 * What kubectl 1.32 does (seen with -v=8):
 * 1. `GET …/pods/<pod>/portforward` with `Upgrade: websocket` and `Sec-WebSocket-Protocol:
 *    SPDY/3.1+portforward.k8s.io` (SPDY tunnelled through WebSocket). Any answer other than a
 *    good 101 handshake (400, 403, 404, 500 were tried) makes it fall back; we answer 400.
 * 2. `POST …/pods/<pod>/portforward` with `Upgrade: SPDY/3.1` and `X-Stream-Protocol-Version:
 *    portforward.k8s.io`; no query string (ports travel per stream). We answer 101 with the same
 *    Upgrade and protocol headers.
 * 3. Per accepted local connection: SYN_STREAM `streamtype: error` (then FIN at once: kubectl
 *    never writes on it), SYN_STREAM `streamtype: data`, both with `port` and `requestid`. Each
 *    waits for our SYN_REPLY. Bytes flow as DATA frames; FIN half-closes.
 * 4. kubectl reads the error stream to its end before it closes the local connection, and a
 *    message on it ends the whole port-forward ("lost connection to pod"), as with a real kubelet.
 */

export interface PortForwardTarget {
  readonly host: string;
  readonly port: number;
}

/** Where port `port` of the pod is really served, or undefined when nothing listens there. */
export type ResolvePortForwardTarget = (
  namespace: string,
  pod: string,
  port: number,
) => PortForwardTarget | undefined;

export interface PortForwardServerOptions {
  readonly resolveTarget: ResolvePortForwardTarget;
  /** Whether the pod exists; when it says no, the upgrade is refused with 404 as a real API server does. */
  readonly podExists?: (namespace: string, pod: string) => boolean;
  /** Told when a connection is dropped for a framing or compression error (tests, logs). */
  readonly onProtocolError?: (error: unknown) => void;
}

export interface PortForwardServer {
  /**
   * Takes over an HTTP `upgrade` event if it is a pods/portforward request and returns true;
   * returns false (socket untouched) for any other path. Authenticate before calling.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Port-forward connections now open (one per running kubectl port-forward). */
  readonly openSessions: number;
  /** Sends GOAWAY on every open connection, closes them and every forwarded TCP connection. */
  close(): Promise<void>;
}

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
const SPDY_UPGRADE = 'SPDY/3.1';
const PORT_FORWARD_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward\/?$/;

/** The namespace and pod of a pods/portforward URL, or undefined for any other URL. */
export function parsePortForwardUrl(url: string): { namespace: string; pod: string } | undefined {
  const path = url.split('?')[0] ?? '';
  const match = PORT_FORWARD_PATH.exec(path);
  if (match === null) return undefined;
  return { namespace: decodeURIComponent(match[1] ?? ''), pod: decodeURIComponent(match[2] ?? '') };
}

export function createPortForwardServer(options: PortForwardServerOptions): PortForwardServer {
  const sessions = new Set<PortForwardSession>();
  return {
    handleUpgrade(request, socket, head) {
      const target = parsePortForwardUrl(request.url ?? '/');
      if (target === undefined) return false;
      socket.on('error', () => undefined);
      const upgrade = (request.headers.upgrade ?? '').toLowerCase();
      if (upgrade === 'websocket') {
        // No WebSocket tunnel here: a failed handshake is kubectl's documented cue to retry with SPDY.
        refuse(socket, 400, 'BadRequest', 'port-forward over WebSocket is not supported; use SPDY/3.1');
        return true;
      }
      if (!upgrade.split(',').some((value) => value.trim() === SPDY_UPGRADE.toLowerCase())) {
        refuse(socket, 400, 'BadRequest', `Upgrade: ${SPDY_UPGRADE} is required for port-forward`);
        return true;
      }
      const protocols = String(request.headers['x-stream-protocol-version'] ?? '')
        .split(',')
        .map((value) => value.trim());
      if (!protocols.includes(PORT_FORWARD_PROTOCOL)) {
        refuse(
          socket,
          403,
          'Forbidden',
          `unable to negotiate protocol: client supports ${protocols.join(', ')}`,
        );
        return true;
      }
      if (options.podExists !== undefined && !options.podExists(target.namespace, target.pod)) {
        refuse(socket, 404, 'NotFound', `pods "${target.pod}" not found`);
        return true;
      }
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\n' +
          'Connection: Upgrade\r\n' +
          `Upgrade: ${SPDY_UPGRADE}\r\n` +
          `X-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n\r\n`,
      );
      const session = new PortForwardSession(socket, target.namespace, target.pod, options, () =>
        sessions.delete(session),
      );
      sessions.add(session);
      if (head.length > 0) session.receive(head);
      return true;
    },
    get openSessions() {
      return sessions.size;
    },
    close: async () => {
      await Promise.all([...sessions].map((session) => session.shutdown()));
    },
  };
}

function refuse(socket: Duplex, code: number, reason: string, message: string): void {
  const body = JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

interface ForwardStream {
  readonly id: number;
  readonly kind: 'error' | 'data';
  readonly pair: ForwardPair;
  /** We sent FIN. */
  finished: boolean;
}

/** The error and data streams of one forwarded connection, joined by kubectl's requestID. */
interface ForwardPair {
  readonly requestId: string;
  readonly port: number;
  error?: ForwardStream;
  data?: ForwardStream;
  /** Bytes from kubectl that arrived before the target connection existed. */
  readonly pending: Buffer[];
  /** kubectl sent FIN on the data stream. */
  dataEnded: boolean;
  target?: net.Socket;
}

/** How long a closing session waits for kubectl to hang up after GOAWAY before cutting the socket. */
const GOAWAY_GRACE_MS = 500;

class PortForwardSession {
  private readonly compression = new HeaderCompression();
  private readonly splitter = new FrameSplitter();
  /** Frames are handled one at a time, in order: header blocks share one zlib context. */
  private inbound: Promise<void> = Promise.resolve();
  /** Frames are encoded and written one at a time, in order, for the same reason. */
  private outbound: Promise<void> = Promise.resolve();
  private readonly streams = new Map<number, ForwardStream>();
  private readonly pairs = new Map<string, ForwardPair>();
  /** Targets whose write buffer is full: we stop reading kubectl's socket until they drain. */
  private readonly blockedTargets = new Set<net.Socket>();
  private lastStreamId = 0;
  private closed = false;
  private readonly socketClosed: Promise<void>;

  constructor(
    private readonly socket: Duplex,
    private readonly namespace: string,
    private readonly pod: string,
    private readonly options: PortForwardServerOptions,
    private readonly onClosed: () => void,
  ) {
    this.socketClosed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => socket.end());
    socket.on('drain', () => {
      for (const pair of this.pairs.values()) pair.target?.resume();
    });
    socket.once('close', () => this.teardown());
  }

  receive(chunk: Buffer): void {
    for (const raw of this.splitter.push(chunk)) {
      this.inbound = this.inbound
        .then(async () => {
          if (this.closed) return;
          this.onFrame(await decodeFrame(raw, this.compression));
        })
        .catch((error: unknown) => this.protocolFailure(error));
    }
  }

  async shutdown(): Promise<void> {
    if (!this.closed) {
      this.send({ type: 'goAway', lastGoodStreamId: this.lastStreamId, status: GoAwayStatus.ok });
      this.outbound = this.outbound.then(() => {
        this.socket.end();
      });
      const timer = setTimeout(() => this.socket.destroy(), GOAWAY_GRACE_MS);
      await this.socketClosed;
      clearTimeout(timer);
    }
  }

  private onFrame(frame: SpdyFrame): void {
    switch (frame.type) {
      case 'synStream':
        return this.openStream(frame.streamId, frame.headers, frame.fin);
      case 'data':
        return this.onData(frame.streamId, frame.data, frame.fin);
      case 'rstStream': {
        const stream = this.streams.get(frame.streamId);
        if (stream !== undefined) this.closePair(stream.pair, true);
        return;
      }
      case 'ping':
        // Server pings would have even ids; we send none, so every ping is kubectl's to echo.
        return this.send(frame);
      case 'goAway':
        this.socket.end();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE (spdystream does no flow control), HEADERS, SYN_REPLY: nothing to do.
        return;
    }
  }

  private openStream(streamId: number, headers: SpdyHeaders, fin: boolean): void {
    if (streamId % 2 === 0 || streamId <= this.lastStreamId) {
      this.send({ type: 'rstStream', streamId, status: RstStatus.protocolError });
      return;
    }
    this.lastStreamId = streamId;
    const kind = headers.streamtype?.[0];
    const portText = headers.port?.[0] ?? '';
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    if ((kind !== 'error' && kind !== 'data') || port < 1 || port > 65535) {
      // The kubelet rejects such a stream the same way (spdystream's Reset sends CANCEL).
      this.send({ type: 'rstStream', streamId, status: RstStatus.cancel });
      return;
    }
    // kubectl before requestID paired streams by id: the data stream follows its error stream.
    const requestId = headers.requestid?.[0] ?? String(kind === 'error' ? streamId : streamId - 2);
    let pair = this.pairs.get(requestId);
    if (pair === undefined) {
      pair = { requestId, port, pending: [], dataEnded: false };
      this.pairs.set(requestId, pair);
    }
    if (pair[kind] !== undefined || pair.target !== undefined) {
      this.send({ type: 'rstStream', streamId, status: RstStatus.protocolError });
      return;
    }
    const stream: ForwardStream = { id: streamId, kind, pair, finished: false };
    pair[kind] = stream;
    this.streams.set(streamId, stream);
    this.send({ type: 'synReply', streamId, fin: false, headers: {} });
    if (fin && kind === 'data') pair.dataEnded = true;
    if (pair.error !== undefined && pair.data !== undefined) this.connect(pair);
  }

  private onData(streamId: number, data: Buffer, fin: boolean): void {
    const stream = this.streams.get(streamId);
    // The error stream only ever carries kubectl's FIN; frames of closed streams are dropped.
    if (stream === undefined || stream.kind !== 'data') return;
    const { pair } = stream;
    if (data.length > 0) {
      if (pair.target === undefined) pair.pending.push(Buffer.from(data));
      else if (!pair.target.write(data)) this.blockInboundUntilDrained(pair.target);
    }
    if (fin) {
      pair.dataEnded = true;
      pair.target?.end();
    }
  }

  private connect(pair: ForwardPair): void {
    const address = this.options.resolveTarget(this.namespace, this.pod, pair.port);
    if (address === undefined) {
      this.failPair(pair, `nothing listens on port ${pair.port}`);
      return;
    }
    const target = net.connect({ host: address.host, port: address.port });
    pair.target = target;
    for (const chunk of pair.pending.splice(0)) target.write(chunk);
    if (pair.dataEnded) target.end();
    let connected = false;
    target.once('connect', () => (connected = true));
    target.on('data', (chunk: Buffer) => {
      const dataStream = pair.data;
      if (dataStream !== undefined && !dataStream.finished) {
        this.send({ type: 'data', streamId: dataStream.id, fin: false, data: chunk });
      }
    });
    target.on('end', () => this.finish(pair.data));
    target.on('error', (error: Error) => {
      if (!connected) this.failPair(pair, error.message);
    });
    target.on('close', () => this.closePair(pair, false));
  }

  /** What the kubelet does when it cannot reach the port: a message on the error stream, then FIN on both. */
  private failPair(pair: ForwardPair, reason: string): void {
    const message =
      `error forwarding port ${pair.port} to pod ${this.namespace}/${this.pod}: ` +
      `failed to connect to localhost:${pair.port} inside the pod: ${reason}`;
    if (pair.error !== undefined && !pair.error.finished) {
      this.send({ type: 'data', streamId: pair.error.id, fin: false, data: Buffer.from(message) });
    }
    this.closePair(pair, false);
  }

  private closePair(pair: ForwardPair, reset: boolean): void {
    if (this.pairs.get(pair.requestId) !== pair) return;
    this.pairs.delete(pair.requestId);
    for (const stream of [pair.data, pair.error]) {
      if (stream === undefined) continue;
      this.streams.delete(stream.id);
      if (!reset) this.finish(stream);
    }
    pair.target?.destroy();
  }

  private finish(stream: ForwardStream | undefined): void {
    if (stream === undefined || stream.finished) return;
    stream.finished = true;
    this.send({ type: 'data', streamId: stream.id, fin: true, data: Buffer.alloc(0) });
  }

  private send(frame: SpdyFrame): void {
    this.outbound = this.outbound
      .then(async () => {
        if (this.closed) return;
        const bytes = await encodeFrame(frame, this.compression);
        if (!this.socket.write(bytes)) {
          // kubectl reads slower than the targets write: stop reading them until the socket drains.
          for (const pair of this.pairs.values()) pair.target?.pause();
        }
      })
      .catch((error: unknown) => this.protocolFailure(error));
  }

  private blockInboundUntilDrained(target: net.Socket): void {
    if (this.blockedTargets.has(target)) return;
    this.blockedTargets.add(target);
    this.socket.pause();
    const release = (): void => {
      if (!this.blockedTargets.delete(target)) return;
      if (this.blockedTargets.size === 0) this.socket.resume();
    };
    target.once('drain', release);
    target.once('close', release);
  }

  private protocolFailure(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    // Best effort: the compression context may be what broke, and GOAWAY needs none.
    void encodeFrame(
      { type: 'goAway', lastGoodStreamId: this.lastStreamId, status: GoAwayStatus.protocolError },
      this.compression,
    ).then(
      (bytes) => this.socket.end(bytes),
      () => this.socket.destroy(),
    );
    this.options.onProtocolError?.(error);
    this.teardown();
  }

  private teardown(): void {
    this.closed = true;
    for (const pair of this.pairs.values()) pair.target?.destroy();
    this.pairs.clear();
    this.streams.clear();
    this.compression.close();
    this.onClosed();
  }
}
