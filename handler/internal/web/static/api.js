// Calls to the API with the signed-in person's token. Errors carry the
// API's own message, which says what to do.
import { token } from "app/auth";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// headers carry the person's token. A sign-in that cannot give one is
// said as such, not as a network failure.
async function headers(extra) {
  let t;
  try {
    t = await token();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(401, "signed_out", "We could not confirm your sign-in. Sign out, sign in again, then try once more.");
  }
  return { Authorization: "Bearer " + t, ...extra };
}

async function answer(resp) {
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await resp.json() : await resp.text();
  if (!resp.ok) {
    const e = body && body.error;
    throw new ApiError(resp.status, e ? e.code : "http_" + resp.status,
      e ? e.message : `The service answered ${resp.status}. Try again in a moment.`);
  }
  return body;
}

export async function call(method, path, body) {
  const h = await headers(body === undefined ? {} : { "Content-Type": "application/json" });
  let resp;
  try {
    resp = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", "The service could not be reached. Check your connection and try again.");
  }
  return answer(resp);
}

export const get = (path) => call("GET", path);

// upload sends a file with progress (fraction 0..1) as it goes.
export async function upload(path, file, onProgress) {
  const auth = await headers({});
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("PUT", path);
    x.setRequestHeader("Authorization", auth.Authorization);
    x.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    x.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    x.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    x.onerror = () => reject(new ApiError(0, "network", "The upload was interrupted. Check your connection and try again."));
    x.onload = () => {
      const resp = new Response(x.responseText, { status: x.status, headers: { "Content-Type": x.getResponseHeader("Content-Type") || "" } });
      answer(resp).then(resolve, reject);
    };
    x.send(file);
  });
}

// download fetches a file with the token and hands it to the browser.
export async function download(path, name) {
  const resp = await fetch(path, { headers: await headers({}) });
  if (!resp.ok) return answer(resp);
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
