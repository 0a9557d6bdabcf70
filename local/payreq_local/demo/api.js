// The Payreq HTTP API as a browser uses it: the session cookie goes along by itself (same origin),
// and every write carries X-Requested-With, which the API's CSRF check asks of cookie-authenticated
// writes. Errors arrive in the API's envelope: {"error": {"code", "message", ...}}.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body = undefined, extraHeaders = {}) {
  const headers = { Accept: "application/json", "X-Requested-With": "payreq-demo", ...extraHeaders };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: `${response.status} ${response.statusText}` }; // not the API's JSON (a proxy's page?)
  }
  if (!response.ok) {
    const error = data?.error ?? { code: "http_error", message: data?.message ?? response.statusText };
    throw new ApiError(response.status, error.code, error.message);
  }
  return data;
}

// A presigned POST straight to the bucket: the form's fields first, the file last (S3 ignores
// fields after the file). No cookies go to the bucket; the signature is the credential.
export async function uploadToBucket(upload, file) {
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
  form.append("file", file);
  const response = await fetch(upload.url, { method: "POST", body: form, credentials: "omit" });
  if (!response.ok) throw new ApiError(response.status, "upload_failed", `The bucket refused the file (${response.status}).`);
}
