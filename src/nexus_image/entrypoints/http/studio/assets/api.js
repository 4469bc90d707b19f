// The session and calls to the API, with their errors as problem details.

// `epoch` changes on every sign-in and sign-out, so answers to requests made before can be dropped.
export const session = { token: null, userId: null, config: null, onUnauthorized: null, epoch: 0 };

// Call before awaiting a request: the function it returns says whether the session changed since
// (signed out, or in as someone else), in which case the answer must not be shown.
export function sessionMark() {
  const { token, epoch } = session;
  return () => session.token !== token || session.epoch !== epoch;
}

// Whether the signed-in user owns the image (changing it is for its owner only).
export const owns = (image) => Boolean(session.userId) && image.user_id === session.userId;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `Request failed (${status})`);
    this.status = status;
    this.problem = problem;
    this.code = problem.code;
  }
}

// The 401 of a request made for a session that has since been signed out (nothing to show).
export const signedOutMeanwhile = (error) => error instanceof ApiError && error.status === 401 && !session.token;

// A network failure or a server error (worth the page-wide banner, and a retry).
export const isOutage = (error) => !(error instanceof ApiError) || error.status === 0 || error.status >= 500;

// `body` is sent as JSON, or as it is when it is FormData (the browser then writes the multipart
// Content-Type, with its boundary).
export async function api(path, { method = 'GET', body, token = session.token, headers: extra = {} } = {}) {
  const headers = { Accept: 'application/json, application/problem+json', ...extra };
  if (token) headers.Authorization = `Bearer ${token}`;
  const multipart = body instanceof FormData;
  if (body !== undefined && !multipart) headers['Content-Type'] = 'application/json';
  let response;
  try {
    const payload = body === undefined || multipart ? body : JSON.stringify(body);
    response = await fetch(path, { method, headers, body: payload });
  } catch {
    throw new ApiError(0, { detail: 'The server cannot be reached. Check the connection and try again.' });
  }
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const problem = data && typeof data === 'object' && !Array.isArray(data)
      ? data
      : { detail: `${response.status} ${response.statusText}`.trim() };
    const error = new ApiError(response.status, problem);
    if (response.status === 401 && token && token === session.token && session.onUnauthorized) {
      session.onUnauthorized(error);
    }
    throw error;
  }
  return data;
}

export function describe(error) {
  if (error instanceof ApiError) return error.status ? `Error ${error.status}: ${error.message}` : error.message;
  return String(error && error.message ? error.message : error);
}

// A path of encoded segments: path('albums', id) is albums/<id>.
export const path = (...parts) => parts.map(encodeURIComponent).join('/');
