// Calls to the REST API through the gateway (/api → the demo API) and the demo's login.

/**
 * api calls /api{path} and returns the "data" of the JSON answer (null for 204). A failed
 * call throws {status, message}, which Redux can keep as it is (plain and serializable).
 * @param {string} method
 * @param {string} path
 * @param {Record<string, string>} [headers]
 */
export async function api(method, path, headers = {}) {
  const res = await fetch('/api' + path, { method, headers: { Accept: 'application/json', ...headers } });
  if (res.status === 204) return null;
  const body = await res.json().catch(() => null);
  if (!res.ok) throw { status: res.status, message: (body && body.error) || res.statusText };
  return body ? body.data : null;
}

/**
 * demoPost calls POST /demo/login?user=... or /demo/logout (the demo's stand-in for a login).
 * @param {string} path
 */
export async function demoPost(path) {
  const res = await fetch(path, { method: 'POST' });
  if (!res.ok) throw { status: res.status, message: 'login failed' };
}

/** @param {unknown} e */
export function errorOf(e) {
  const x = /** @type {any} */ (e);
  return { status: typeof x?.status === 'number' ? x.status : 0, message: String(x?.message ?? e) };
}
