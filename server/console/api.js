// Talking to the collector: the token, JSON calls, and the live feed that resumes after a drop.

const TOKEN_KEY = "tempgate.token";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

/** Call ``/api/v1{path}``; the server's JSON ``message`` becomes the error a person reads. */
export async function api(path, { method = "GET", body, params } = {}) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `the collector cannot be reached (${err.message})`);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, data?.message || `HTTP ${response.status}`);
  }
  return data;
}

/** A link that works without headers (downloads): the token rides in the query string. */
export function authorizedUrl(path) {
  const url = new URL(`/api/v1${path}`, location.origin);
  url.searchParams.set("access_token", token());
  return url.pathname + url.search;
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15000;

/**
 * The SSE live feed. EventSource resumes by itself (with Last-Event-ID) after a dropped
 * connection, but gives up for good on an HTTP error such as a collector restart answering
 * 502; then we open a new one ourselves from the last id we saw, so nothing is missed.
 */
export class LiveFeed {
  constructor({ site, onEvent, onState }) {
    this.site = site;
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastId = null;
    this.source = null;
    this.retryMs = RETRY_MIN_MS;
    this.timer = null;
    this.closed = false;
  }

  open() {
    this.closed = false;
    const url = new URL("/api/v1/live", location.origin);
    url.searchParams.set("access_token", token());
    if (this.site) url.searchParams.set("site", this.site);
    if (this.lastId !== null) url.searchParams.set("after", this.lastId);
    this.onState("connecting");
    const source = new EventSource(url);
    this.source = source;
    source.onopen = () => {
      this.retryMs = RETRY_MIN_MS;
      this.onState("live");
    };
    source.onerror = () => {
      if (this.closed) return;
      this.onState("reconnecting");
      if (source.readyState === EventSource.CLOSED) this.retry();
    };
    for (const type of [
      "alert.raised",
      "alert.acknowledged",
      "alert.resolved",
      "alert.retest",
      "kiosk.status",
    ]) {
      source.addEventListener(type, (message) => {
        if (message.lastEventId) this.lastId = message.lastEventId;
        this.onEvent(type, JSON.parse(message.data));
      });
    }
  }

  retry() {
    this.source?.close();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.source?.close();
  }
}
