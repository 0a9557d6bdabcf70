// The Payreq API, typed from openapi.json (`npm run generate` writes src/schema.d.ts), through
// openapi-fetch: the session cookie travels with every request, writes carry the CSRF header, and
// every failure is the error envelope, thrown as a PayreqError by `unwrap`.

import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, paths };
export type Schemas = components["schemas"];
export type ErrorEnvelope = Schemas["ErrorEnvelope"];
export type ErrorDetail = ErrorEnvelope["error"]["details"][number];
export type PayreqClient = Client<paths>;

/** A 4xx or 5xx answer: `code` to branch on, `message` to show, `details` to put beside each field. */
export class PayreqError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];
  readonly requestId: string | null;

  constructor(status: number, envelope: ErrorEnvelope | undefined) {
    super(envelope?.error.message ?? `HTTP ${status}`);
    this.name = "PayreqError";
    this.status = status;
    this.code = envelope?.error.code ?? "http_error";
    this.details = envelope?.error.details ?? [];
    this.requestId = envelope?.error.requestId ?? null;
  }
}

export interface PayreqClientOptions {
  /** Where the API is: `http://localhost:3000` locally. */
  baseUrl: string;
  /** Sent with every request; outside a browser, the `Cookie` of a session or an `Authorization: Bearer` token. */
  headers?: Record<string, string>;
  /** Another fetch (tests, a server runtime); the global one by default. */
  fetch?: typeof globalThis.fetch;
}

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

// Cookie-authenticated writes must show they come from the app's own pages (403 csrf_failed
// otherwise): a header a cross-site form cannot send.
const csrfHeader: Middleware = {
  onRequest({ request }) {
    if (WRITES.has(request.method)) request.headers.set("X-Requested-With", "payreq-client");
    return request;
  },
};

export function createPayreqClient(options: PayreqClientOptions): PayreqClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    credentials: "include", // the HttpOnly session cookie, also from a dev server on another port
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  client.use(csrfHeader);
  return client;
}

/** What a call answered: its body and, for a versioned resource, the ETag to send back as If-Match. */
export interface Answer<T> {
  data: T;
  etag: string | null;
  response: Response;
}

/** The body of a successful call, or its error envelope thrown as a PayreqError. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<Answer<T>> {
  const { data, error, response } = await call;
  if (!response.ok) throw new PayreqError(response.status, error as ErrorEnvelope | undefined);
  return { data: data as T, etag: response.headers.get("ETag"), response };
}

/** A fresh Idempotency-Key for one intended change: keep it for that change's retries. */
export function idempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}
