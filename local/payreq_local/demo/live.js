// Live sync: a single-use ticket from the API opens the WebSocket (the ticket works where the
// cookie cannot travel, e.g. an API on another site), then the page subscribes to its topics.
// Messages only name what changed; the page refetches it. Reconnects with backoff, and after a
// reconnect the page reloads its lists, since changes may have been missed while away. While open,
// it pings: API Gateway closes a WebSocket that carried nothing for 10 minutes.

import { api } from "./api.js";

const MAX_DELAY_MS = 15000;
const PING_EVERY_MS = 5 * 60 * 1000; // well inside the 10-minute idle timeout

export class LiveSync {
  constructor({ topics, onChange, onStatus, onReconnect }) {
    this.topics = topics;
    this.onChange = onChange;
    this.onStatus = onStatus;
    this.onReconnect = onReconnect;
    this.socket = null;
    this.stopped = true;
    this.attempt = 0;
    this.timer = null;
    this.pinger = null;
    this.seen = new Set(); // eventIds: a change delivered twice is handled once
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    this.socket?.close(1000, "signed out");
    this.socket = null;
    this.onStatus("offline", "Live updates: off");
  }

  async connect() {
    this.onStatus("connecting", "Live updates: connecting…");
    let ticket;
    try {
      ({ ticket } = await api("POST", "/api/v1/sync/ticket"));
    } catch (error) {
      if (error.status === 401) {
        this.stop(); // the session is over: retrying cannot help
        this.onStatus("offline", "Live updates: off (signed out; sign in again)");
      } else {
        this.retry(`could not get a ticket (${error.message})`);
      }
      return;
    }
    if (this.stopped) return;
    const url = new URL(`/ws?ticket=${encodeURIComponent(ticket)}`, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ action: "subscribe", topics: this.topics }));
      clearInterval(this.pinger);
      this.pinger = setInterval(() => socket.send(JSON.stringify({ action: "ping" })), PING_EVERY_MS);
    });
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket || this.stopped) return;
      clearInterval(this.pinger);
      this.retry(`connection closed (${event.code})`);
    });
  }

  receive(message) {
    if (message.type === "subscribed") {
      const reconnected = this.attempt > 0;
      this.attempt = 0;
      this.onStatus("connected", `Live updates: connected (${message.topics.join(", ")})`);
      if (reconnected) this.onReconnect();
    } else if (message.type === "change" && !this.seen.has(message.eventId)) {
      this.seen.add(message.eventId);
      if (this.seen.size > 1000) this.seen.delete(this.seen.values().next().value);
      this.onChange(message);
    }
  }

  retry(reason) {
    if (this.stopped) return;
    this.attempt += 1;
    const delay = Math.min(MAX_DELAY_MS, 500 * 2 ** this.attempt);
    this.onStatus("reconnecting", `Live updates: ${reason}; retrying in ${Math.round(delay / 1000)} s`);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
