// Live sync over the WebSocket API: a single-use ticket opens the socket, the client subscribes to
// its topics, and after every reconnect it asks `/api/v1/sync/changes` for what it missed. Changes
// only name what changed (refetch it); each is handed on once (by eventId), in cursor order.

import { type PayreqClient, type Schemas, unwrap } from "./client.js";

export type Change = Schemas["Change"];
export type LiveStatus = "connecting" | "connected" | "reconnecting" | "stopped";

export interface LiveSyncOptions {
  /** The WebSocket API: `ws://localhost:3000/ws` locally. */
  url: string;
  /** `prs`, `invoices`, `payments`, or one object: `pr:<id>`. */
  topics: string[];
  onChange(change: Change): void;
  onStatus?(status: LiveStatus, detail?: string): void;
  /** Another WebSocket implementation (Node before 22); the global one by default. */
  WebSocket?: typeof globalThis.WebSocket;
  /** API Gateway closes a socket idle for 10 minutes: ping well within that. */
  pingEveryMs?: number;
}

const MAX_DELAY_MS = 30_000;

export class LiveSync {
  private socket: WebSocket | null = null;
  private stopped = true;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pinger: ReturnType<typeof setInterval> | undefined;
  private readonly seen = new Set<string>();
  /** The newest change handed on: where a resync starts. */
  cursor: number | null = null;

  constructor(
    private readonly client: PayreqClient,
    private readonly options: LiveSyncOptions,
  ) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pinger);
    this.socket?.close(1000, "stopped");
    this.socket = null;
    this.options.onStatus?.("stopped");
  }

  private async connect(): Promise<void> {
    this.options.onStatus?.(this.attempt ? "reconnecting" : "connecting");
    let ticket: string;
    try {
      ({ ticket } = (await unwrap(this.client.POST("/api/v1/sync/ticket"))).data);
    } catch (error) {
      this.retry(`no ticket: ${String(error)}`);
      return;
    }
    if (this.stopped) return;
    const Socket = this.options.WebSocket ?? globalThis.WebSocket;
    const socket = new Socket(`${this.options.url}?ticket=${encodeURIComponent(ticket)}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ action: "subscribe", topics: this.options.topics }));
      clearInterval(this.pinger);
      this.pinger = setInterval(
        () => socket.send(JSON.stringify({ action: "ping" })),
        this.options.pingEveryMs ?? 5 * 60_000,
      );
    });
    socket.addEventListener("message", (event) => void this.receive(JSON.parse(String(event.data))));
    socket.addEventListener("close", (event) => {
      clearInterval(this.pinger);
      if (this.socket === socket && !this.stopped) this.retry(`closed (${event.code})`);
    });
  }

  private async receive(message: { type: string; cursor?: number } & Partial<Change>): Promise<void> {
    if (message.type === "subscribed") {
      const missedSome = this.cursor !== null;
      this.attempt = 0;
      this.options.onStatus?.("connected");
      if (missedSome) await this.resync();
      else this.cursor = message.cursor ?? null;
    } else if (message.type === "change") {
      this.handOn(message as Change);
    }
  }

  /** The changes after our cursor that happened while the socket was away, page by page. */
  async resync(): Promise<void> {
    let hasMore = true;
    while (hasMore && this.cursor !== null) {
      const page = await unwrap(
        this.client.GET("/api/v1/sync/changes", { params: { query: { since: this.cursor } } }),
      );
      page.data.items.forEach((change) => this.handOn(change));
      this.cursor = Math.max(this.cursor, page.data.cursor);
      hasMore = page.data.hasMore;
    }
  }

  private handOn(change: Change): void {
    if (this.seen.has(change.eventId)) return;
    this.seen.add(change.eventId);
    if (this.seen.size > 5000) this.seen.delete(this.seen.values().next().value as string);
    this.cursor = Math.max(this.cursor ?? 0, change.cursor);
    this.options.onChange(change);
  }

  private retry(reason: string): void {
    if (this.stopped) return;
    this.attempt += 1;
    const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** (this.attempt - 1)) * (0.5 + Math.random() / 2);
    this.options.onStatus?.("reconnecting", reason);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}
