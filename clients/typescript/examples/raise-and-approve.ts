// Against a running local stack (`make run`; PAYREQ_API_URL to point elsewhere): alice raises a
// payment request on the demo approval flow and submits it; bob reads it and approves the version he
// read (If-Match), with an Idempotency-Key; approving again is refused in the error envelope.
// Outside a browser the session cookie is carried by hand; in a browser it travels by itself.

import { createPayreqClient, idempotencyKey, PayreqError, type PayreqClient, unwrap } from "../src/index.js";

const baseUrl = process.env.PAYREQ_API_URL ?? "http://localhost:3000";

async function signedIn(email: string, permissions: string[]): Promise<PayreqClient> {
  const anonymous = createPayreqClient({ baseUrl });
  const token = process.env.PAYREQ_TEST_LOGIN_TOKEN ?? "payreq-local";
  const { response } = await unwrap(anonymous.POST("/auth/test-login", { body: { token, email, permissions } }));
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0]!;
  return createPayreqClient({ baseUrl, headers: { Cookie: cookie } });
}

const alice = await signedIn("alice@example.com", ["pr.read", "pr.write"]);
const bob = await signedIn("bob@example.com", ["pr.read", "pr.approve"]);

const flows = await unwrap(alice.GET("/api/v1/approval-flows"));
const demoFlow = flows.data.find((flow) => flow.name.startsWith("Demo"));
if (!demoFlow) throw new Error("no demo approval flow: start the stack with its demo data");

const created = await unwrap(
  alice.POST("/api/v1/prs", {
    body: { title: "Monitors", payee: "ACME GmbH", amount: "640.00", currency: "EUR", approvalFlowTemplateId: demoFlow.id },
  }),
);
const prId = created.data.id;
await unwrap(alice.POST("/api/v1/prs/{pr_id}/submit", { params: { path: { pr_id: prId } } }));

const read = await unwrap(bob.GET("/api/v1/prs/{pr_id}", { params: { path: { pr_id: prId } } }));
const approve = () =>
  bob.POST("/api/v1/prs/{pr_id}/approve", {
    params: { path: { pr_id: prId }, header: { "if-match": read.etag, "idempotency-key": idempotencyKey() } },
    body: { comment: "Go ahead" },
  });
const approved = await unwrap(approve());

let again: string;
try {
  await unwrap(approve());
  again = "accepted";
} catch (error) {
  if (!(error instanceof PayreqError)) throw error;
  again = `${error.status} ${error.code}`;
}

console.log(JSON.stringify({ number: approved.data.number, status: approved.data.status, etag: approved.etag, again }));
