/** The gateway service: WebSocket and SSE clients, their messages, heartbeats and shutdown. */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { TopicKey } from '../../topics/index.ts';
import { ECOSYSTEM_TOPICS } from '../../topics/index.ts';
import { AccessPolicy, mayRead, type Principal, presentedToken, readable } from '../api/index.ts';
import type { Config } from '../config/index.ts';
import { codeOfStatus } from '../errors/index.ts';
import type { KafkaConnection } from '../kafka/index.ts';
import type { Logger } from '../log/index.ts';
import { Client, type ClientLimits, noCounters, type Sink } from './client.ts';
import { FrameClock } from './frames.ts';
import { type ResolvedTopic, TopicHub, TopicUnavailableError } from './loop.ts';
import { type GatewayCounters, registerGatewayMetrics } from './metrics.ts';
import {
  MAX_CLIENT_FRAME_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  parseClientMessage,
  type StartFrom,
  type SubscribeRequest,
} from './protocol.ts';
import { decodeCursor, SseSink, WsSink } from './sinks.ts';

export { ECOSYSTEM_TOPICS } from '../../topics/index.ts';

export const WS_PATH = '/api/v2/ws';
export const WS_ECOSYSTEM_PATH = '/api/v2/ws/ecosystem';

/** WebSocket close codes the gateway uses (docs/gateway.md). */
export const CLOSE = { GOING_AWAY: 1001, TOO_SLOW: 4008 } as const;

const MESSAGES_PER_SECOND = 50;

interface Peer {
  client: Client;
  principal: Principal;
  ws?: WebSocket;
  sse?: SseSink;
  /** Client messages in the current one-second window. */
  window: { start: number; count: number };
}

export class Gateway {
  readonly hub: TopicHub;
  readonly clock: FrameClock;
  readonly access: AccessPolicy;
  private readonly peers = new Set<Peer>();
  private readonly allowed: Set<string>;
  private readonly wss: WebSocketServer;
  private heartbeat?: NodeJS.Timeout;
  private accepting = false;
  private readonly limits: ClientLimits;
  connectionsTotal = 0;
  readonly counters: GatewayCounters = { ...noCounters(), deadPeers: 0 };
  private unregisterMetrics?: () => void;

  private readonly config: Config;
  private readonly kafka: KafkaConnection;
  private readonly log: Logger;

  constructor(config: Config, kafka: KafkaConnection, log: Logger) {
    this.config = config;
    this.kafka = kafka;
    this.log = log;
    this.clock = new FrameClock({ tickMs: config.GATEWAY_FRAME_MS, maxBytes: config.GATEWAY_FRAME_BYTES });
    this.hub = new TopicHub(kafka, log, this.clock, {
      maxReplays: config.GATEWAY_MAX_REPLAYS,
      partitionCheckMs: config.GATEWAY_PARTITION_CHECK_MS,
    });
    this.access = AccessPolicy.fromConfig(config);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_CLIENT_FRAME_BYTES,
      perMessageDeflate: config.GATEWAY_PERMESSAGE_DEFLATE,
      clientTracking: false,
    });
    this.allowed = new Set(config.GATEWAY_TOPICS);
    this.limits = {
      buffer: config.GATEWAY_CLIENT_BUFFER,
      policy: config.GATEWAY_SLOW_CLIENT,
      maxSubscriptions: config.GATEWAY_MAX_SUBSCRIPTIONS,
    };
  }

  get allowedTopics(): string[] {
    return [...this.allowed];
  }

  /** A topic as clients name it, if they may read it. */
  resolve(name: string): ResolvedTopic | undefined {
    return this.allowed.has(name) ? this.topic(name) : undefined;
  }

  /** Any topic, for the gateway's own feeds (the ecosystem feed is served whatever the allow-list). */
  topic(name: string): ResolvedTopic {
    const declared = (this.kafka.catalog.keys() as readonly string[]).includes(name) ? (name as TopicKey) : undefined;
    return { name, real: declared ? this.kafka.catalog.name(declared) : name, declared };
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  start(): void {
    this.accepting = true;
    this.unregisterMetrics = registerGatewayMetrics(this);
    this.heartbeat = setInterval(() => this.beat(), this.config.GATEWAY_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Who an HTTP request's token belongs to (anyone when no token is configured); never logs it. */
  authenticate(req: IncomingMessage): Principal | undefined {
    return this.access.authenticate(presentedToken(req.headers, req.url));
  }

  /** Why a token may not open the ecosystem feed (it lacks one of its topics), if it may not. */
  ecosystemRefusal(principal: Principal): string | undefined {
    const missing = ECOSYSTEM_TOPICS.filter((t) => !mayRead(principal, t));
    if (!missing.length) return undefined;
    return `token "${principal.name}" may not read ${missing.join(', ')}, which the ecosystem feed carries; it may read: ${readable(principal)}`;
  }

  /** Browsers send Origin on WebSockets: only the page's own origin and CORS_ORIGINS may open one. */
  private originAllowed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (!origin) return true;
    const origins = this.config.CORS_ORIGINS;
    if (origins.includes('*') || origins.includes(origin)) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ecosystem = url.pathname === WS_ECOSYSTEM_PATH;
    if (!ecosystem && url.pathname !== WS_PATH)
      return void reject(
        socket,
        404,
        `no WebSocket endpoint at ${url.pathname.slice(0, 100)}; use ${WS_PATH} or ${WS_ECOSYSTEM_PATH}`,
      );
    if (!this.accepting)
      return void reject(socket, 503, 'the gateway is not accepting connections (starting or shutting down)');
    const principal = this.authenticate(req);
    if (!principal)
      return void reject(
        socket,
        401,
        'this WebSocket needs an API token: Authorization: Bearer <token>, or ?token=<token>',
      );
    const refusal = ecosystem ? this.ecosystemRefusal(principal) : undefined;
    if (refusal) return void reject(socket, 403, refusal);
    if (!this.originAllowed(req))
      return void reject(socket, 403, 'this origin may not open WebSockets here (see CORS_ORIGINS)');
    if (this.peers.size >= this.config.GATEWAY_MAX_CLIENTS)
      return void reject(socket, 503, `the gateway serves ${this.config.GATEWAY_MAX_CLIENTS} clients at most`);
    let from: StartFrom = { kind: 'latest' };
    if (ecosystem && url.searchParams.has('from')) {
      try {
        from = parseClientMessageFrom(url.searchParams.get('from')!);
      } catch (err) {
        return void reject(socket, 400, `query from: ${(err as Error).message}`);
      }
    }
    this.wss.handleUpgrade(req, socket, head, (ws) =>
      this.onConnection(ws, req, principal, ecosystem ? from : undefined),
    );
  }

  private onConnection(
    ws: WebSocket,
    req: IncomingMessage,
    principal: Principal,
    ecosystemFrom: StartFrom | undefined,
  ): void {
    const sink = new WsSink(ws, this.clock);
    const peer = this.addPeer(sink, req, principal, { ws });
    ws.on('pong', () => (peer.client.alive = true));
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(peer, data, isBinary));
    ws.on('close', () => this.removePeer(peer));
    ws.on('error', (err) => this.log.debug({ remote: peer.client.remote, err: err.message }, 'WebSocket error'));
    peer.client.notify({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      topics: ecosystemFrom ? ECOSYSTEM_TOPICS : this.allowedTopics.filter((t) => mayRead(principal, t)),
      frameMs: this.clock.tickMs,
      frameBytes: this.clock.maxBytes,
      bufferRecords: this.limits.buffer,
      slowClient: this.limits.policy,
      heartbeatMs: this.config.GATEWAY_HEARTBEAT_MS,
    });
    if (ecosystemFrom) this.subscribeEcosystem(peer.client, () => ecosystemFrom);
  }

  private addPeer(
    sink: Sink,
    req: IncomingMessage,
    principal: Principal,
    transport: { ws?: WebSocket; sse?: SseSink },
  ): Peer {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const client = new Client(sink, this.limits, this.clock, this.log, remote, this.counters);
    const peer: Peer = { client, principal, ...transport, window: { start: Date.now(), count: 0 } };
    this.peers.add(peer);
    this.connectionsTotal++;
    this.log.debug({ remote, kind: sink.kind, principal: principal.name }, 'client connected');
    return peer;
  }

  private removePeer(peer: Peer): void {
    if (!this.peers.delete(peer)) return;
    peer.client.dispose();
    this.log.debug({ remote: peer.client.remote }, 'client disconnected');
  }

  /** Opens the ecosystem feed as Server-Sent Events on a hijacked response. */
  openSse(
    req: IncomingMessage,
    principal: Principal,
    res: import('node:http').ServerResponse,
    from: StartFrom,
    lastEventId: string | undefined,
    headers: Record<string, unknown>,
  ): void {
    const cursor = lastEventId ? decodeCursor(lastEventId) : undefined;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    const sink = new SseSink(res, cursor);
    const peer = this.addPeer(sink, req, principal, { sse: sink });
    sink.onWritten = () => peer.client.flush();
    res.on('close', () => this.removePeer(peer));
    this.subscribeEcosystem(peer.client, (topic) => {
      const positions = cursor?.get(topic);
      return positions
        ? { kind: 'offsets', offsets: new Map([...positions].map(([p, o]) => [p, o.toString()])), otherwise: 'latest' }
        : from;
    });
  }

  private subscribeEcosystem(client: Client, from: (topic: string) => StartFrom): void {
    for (const name of ECOSYSTEM_TOPICS) {
      void this.subscribe(
        client,
        { type: 'subscribe', id: name, topic: name, from: from(name), filter: {} },
        this.topic(name),
      );
    }
  }

  private onMessage(peer: Peer, data: RawData, isBinary: boolean): void {
    const { client } = peer;
    const now = Date.now();
    if (now - peer.window.start >= 1000) peer.window = { start: now, count: 0 };
    if (++peer.window.count > MESSAGES_PER_SECOND) {
      if (peer.window.count === MESSAGES_PER_SECOND + 1)
        client.error(
          'rate_limited',
          `more than ${MESSAGES_PER_SECOND} messages in a second; the rest of this second's are ignored`,
        );
      return;
    }
    if (isBinary) return void client.error('binary_frame', 'send JSON in text frames; binary frames are not accepted');
    let msg;
    try {
      msg = parseClientMessage(data.toString());
    } catch (err) {
      if (err instanceof ProtocolError)
        return void client.error(err.code, err.message, err.field ? { field: err.field } : {});
      this.log.warn({ err: (err as Error).message }, 'unexpected error parsing a client message');
      return void client.error('invalid_message', 'message could not be read');
    }
    if (msg.type === 'ping') return void client.notify({ type: 'pong', id: msg.id, at: Date.now() });
    if (msg.type === 'unsubscribe') return void this.unsubscribe(client, msg.id);
    const topic = this.resolve(msg.topic);
    if (!topic)
      return void client.error(
        'topic_not_allowed',
        `topic "${msg.topic.slice(0, 100)}" is not one of the topics this gateway serves: ${this.allowedTopics.join(', ')}`,
        { field: 'topic', id: msg.id },
      );
    if (!mayRead(peer.principal, topic.name))
      return void client.error(
        'topic_not_permitted',
        `token "${peer.principal.name}" may not read topic "${topic.name}"; it may read: ${readable(peer.principal)}`,
        { field: 'topic', id: msg.id },
      );
    void this.subscribe(client, msg, topic);
  }

  private readonly pending = new WeakMap<Client, Map<string, { cancelled: boolean }>>();

  private async subscribe(client: Client, req: SubscribeRequest, topic: ResolvedTopic): Promise<void> {
    let pending = this.pending.get(client);
    if (!pending) this.pending.set(client, (pending = new Map()));
    const id = req.id ?? client.newSubscriptionId();
    if (client.subscriptions.has(id) || pending.has(id))
      return void client.error('duplicate_id', `subscription ${id} exists; unsubscribe it first or use another id`, {
        field: 'id',
        id,
      });
    if (client.subscriptions.size + pending.size >= this.limits.maxSubscriptions) {
      return void client.error(
        'too_many_subscriptions',
        `at most ${this.limits.maxSubscriptions} subscriptions per client`,
        { id },
      );
    }
    const state = { cancelled: false };
    pending.set(id, state);
    try {
      const sub = await this.hub.subscribe({ id, topic, from: req.from, filter: req.filter, target: client });
      if (client.closed || state.cancelled) await sub.close();
      else client.subscriptions.set(id, sub);
    } catch (err) {
      if (err instanceof TopicUnavailableError) client.error('topic_unavailable', err.message, { field: 'topic', id });
      else {
        this.log.warn({ topic: topic.name, err: (err as Error).message }, 'subscription failed');
        client.error('subscribe_failed', `could not subscribe to ${topic.name}: ${(err as Error).message}`, { id });
      }
    } finally {
      pending.delete(id);
    }
  }

  private async unsubscribe(client: Client, id: string): Promise<void> {
    const pending = this.pending.get(client)?.get(id);
    if (pending) pending.cancelled = true;
    const sub = client.subscriptions.get(id);
    if (!sub && !pending)
      return void client.error('unknown_subscription', `no subscription ${id}`, { field: 'id', id });
    client.subscriptions.delete(id);
    await sub?.close();
    client.notify({ type: 'unsubscribed', id });
  }

  /** Pings every WebSocket; one that did not answer the last ping is dead and dropped. */
  private beat(): void {
    for (const peer of this.peers) {
      if (peer.sse) {
        peer.sse.heartbeat();
        continue;
      }
      if (!peer.ws) continue;
      if (!peer.client.alive) {
        this.log.info({ remote: peer.client.remote }, 'no pong: dropping dead WebSocket peer');
        this.counters.deadPeers++;
        peer.ws.terminate();
        this.removePeer(peer);
        continue;
      }
      peer.client.alive = false;
      peer.ws.ping();
    }
  }

  /** Stops intake and closes every client with 1001; waits briefly for WebSocket close handshakes. */
  async closeClients(waitMs = 1000): Promise<void> {
    this.accepting = false;
    const sockets: Promise<void>[] = [];
    for (const peer of [...this.peers]) {
      if (peer.ws) {
        const ws = peer.ws;
        sockets.push(new Promise((resolve) => ws.once('close', () => resolve())));
      }
      peer.client.close(CLOSE.GOING_AWAY, 'server shutting down');
      if (peer.sse) this.removePeer(peer);
    }
    const timer = new Promise<void>((resolve) => setTimeout(resolve, waitMs).unref());
    await Promise.race([Promise.all(sockets), timer]);
    for (const peer of [...this.peers]) {
      peer.ws?.terminate();
      this.removePeer(peer);
    }
  }

  async stop(): Promise<void> {
    this.unregisterMetrics?.();
    await this.closeClients();
    clearInterval(this.heartbeat);
    await this.hub.stop();
    this.clock.stop();
  }

  async topicOffsets(): Promise<
    { topic: string; partitions: { partition: number; low: string; high: string }[]; error?: string }[]
  > {
    const admin = await this.kafka.admin();
    return Promise.all(
      this.allowedTopics.map(async (name) => {
        try {
          return { topic: name, partitions: await admin.offsets(this.topic(name).real) };
        } catch (err) {
          return { topic: name, partitions: [], error: (err as Error).message };
        }
      }),
    );
  }

  stats() {
    let ws = 0;
    let sse = 0;
    let subscriptions = 0;
    let queued = 0;
    let socketBytes = 0;
    for (const p of this.peers) {
      socketBytes += p.client.sink.buffered();
      if (p.ws) ws++;
      else sse++;
      subscriptions += p.client.subscriptions.size;
      queued += p.client.pendingRecords;
    }
    return {
      websocketClients: ws,
      sseClients: sse,
      subscriptions,
      queuedRecords: queued,
      socketBufferedBytes: socketBytes,
      connectionsTotal: this.connectionsTotal,
      replaysQueued: this.hub.replaysQueued(),
    };
  }
}

/** `?from=` on the ecosystem WebSocket: a time, `earliest` or `latest`. */
function parseClientMessageFrom(value: string): StartFrom {
  const msg = parseClientMessage(JSON.stringify({ type: 'subscribe', topic: 'x', from: value }));
  return (msg as SubscribeRequest).from;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  503: 'Service Unavailable',
};

/** Answers a refused upgrade with a plain HTTP error (a JSON body like the rest of the API). */
function reject(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({
    statusCode: status,
    error: REASONS[status] ?? 'Error',
    code: codeOfStatus(status) ?? 'bad_request',
    message,
  });
  const auth = status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${auth}Connection: close\r\n\r\n${body}`,
  );
}
