// A poll's live results: the WebSocket route, kept open.
//
// The server sends {"type":"snapshot"|"results","results":{...}}. Every
// results object carries a version that grows with each ballot; this module
// forwards only results newer than the newest it has seen, whatever their
// source, so out-of-order or repeated deliveries never move the numbers back.
// When the poll's visibility hides the counts from this browser, the server
// sends {"type":"hidden","visibility":...} instead, and a snapshot once they
// may be shown; `recheck()` asks for that at once (right after a vote), and a
// manage token given at construction is presented on every (re)connection,
// so the poll's owner always sees the counts. The token goes in a message,
// never in the URL.
//
// When the socket drops it reconnects with exponential backoff (with
// jitter), and meanwhile fetches GET /api/polls/{id}/results every few
// seconds (If-None-Match with the version it has, so unchanged results cost
// a 304). Close code 4404, or a 404 from the fallback fetch, means the poll
// is gone: it stops for good. While the browser reports no network it drops
// the socket and waits for the `online` event instead of retrying.

import { ApiError, getResults, liveUrl } from './api.js';

/** Close codes of the live route (openapi.json). */
const POLL_NOT_FOUND = 4404;

export class LiveResults {
  /**
   * @param {string} pollId
   * @param {object} handlers `onResults(results)` for each newer results,
   *   `onState(state)` for connecting | live | reconnecting | offline | gone,
   *   `onHidden(visibility)` when the counts are hidden from this browser.
   * @param {object} [timing] backoff and fallback intervals, in ms.
   * @param {string|null} [token] the poll's manage token, for its owner.
   */
  constructor(pollId, { onResults, onState, onHidden = () => {} }, timing = {}, token = null) {
    this.pollId = pollId;
    this.onResults = onResults;
    this.onState = onState;
    this.onHidden = onHidden;
    this.token = token;
    this.recheckPending = false;
    this.baseDelay = timing.baseDelay ?? 500;
    this.maxDelay = timing.maxDelay ?? 8000;
    this.fallbackInterval = timing.fallbackInterval ?? 3000;
    this.version = null;
    this.state = null;
    this.socket = null;
    this.attempts = 0;
    this.reconnectTimer = null;
    this.reconnectAt = 0;
    this.fallbackTimer = null;
    this.fetching = false;
    this.hurried = false;
    this.stopped = true;
    this.handleOnline = () => this.wake();
    this.handleOffline = () => this.offline();
  }

  /** Starts watching; `initial` results (e.g. from a vote) may be given. */
  start(initial = null) {
    if (!this.stopped) return;
    this.stopped = false;
    if (initial) this.accept(initial);
    window.addEventListener('online', this.handleOnline);
    window.addEventListener('offline', this.handleOffline);
    this.setState('connecting');
    this.connect();
  }

  /** Stops watching: closes the socket and every timer. */
  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.handleOnline);
    window.removeEventListener('offline', this.handleOffline);
    this.clearReconnect();
    this.stopFallback();
    this.dropSocket('page left');
  }

  /** Closes the socket, if any, without reacting to its close. */
  dropSocket(reason) {
    if (!this.socket) return;
    const socket = this.socket;
    this.socket = null;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close(1000, reason);
    } catch {
      // Already closing.
    }
  }

  /** The browser lost its network: the socket is as good as dead; wait for
   * the `online` event rather than retrying into the void. */
  offline() {
    if (this.stopped || this.state === 'gone') return;
    this.dropSocket('offline');
    this.clearReconnect();
    this.stopFallback();
    this.setState('offline');
  }

  /** Asks the server whether the counts may be shown now (right after this
   * browser voted); sent when the socket is open, else once it opens. */
  recheck() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: 'recheck' }));
    } else {
      this.recheckPending = true;
    }
  }

  /** Results from anywhere (socket, fetch, a vote's answer): forwarded only
   * when newer than every results seen before. */
  accept(results) {
    if (!results || results.poll_id !== this.pollId || !Number.isFinite(results.version)) return;
    if (this.version !== null && results.version <= this.version) return;
    this.version = results.version;
    this.onResults(results);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  connect() {
    if (this.stopped || this.state === 'gone') return;
    this.clearReconnect();
    let socket;
    try {
      socket = new WebSocket(liveUrl(this.pollId));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.token) socket.send(JSON.stringify({ type: 'manage', token: this.token }));
      if (this.recheckPending) {
        this.recheckPending = false;
        socket.send(JSON.stringify({ type: 'recheck' }));
      }
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!message || !['snapshot', 'results', 'hidden'].includes(message.type)) return;
      if (this.state !== 'live') {
        this.attempts = 0;
        this.hurried = false;
        this.stopFallback();
        this.setState('live');
      }
      if (message.type === 'hidden') this.onHidden(message.visibility);
      else this.accept(message.results);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      if (event.code === POLL_NOT_FOUND) {
        this.gone();
        return;
      }
      this.scheduleReconnect();
    };
    // An error is always followed by a close; the close decides.
    socket.onerror = () => {};
  }

  scheduleReconnect() {
    if (this.stopped || this.state === 'gone') return;
    this.clearReconnect();
    if (navigator.onLine === false) {
      this.offline();
      return; // `online` wakes us.
    }
    this.startFallback();
    this.setState('reconnecting');
    const ceiling = Math.min(this.maxDelay, this.baseDelay * 2 ** this.attempts);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempts += 1;
    this.reconnectAt = Date.now() + delay;
    this.reconnectTimer = window.setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  clearReconnect() {
    if (this.reconnectTimer !== null) window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  /** The network is back (or the server answers again): retry now. */
  wake() {
    if (this.stopped || this.state === 'live' || this.state === 'gone' || this.socket) return;
    this.attempts = 0;
    this.setState('reconnecting');
    this.connect();
  }

  gone() {
    this.clearReconnect();
    this.stopFallback();
    this.setState('gone');
  }

  startFallback() {
    if (this.fallbackTimer !== null) return;
    this.fallbackTimer = window.setInterval(() => this.fetchOnce(), this.fallbackInterval);
    this.fetchOnce();
  }

  stopFallback() {
    if (this.fallbackTimer !== null) window.clearInterval(this.fallbackTimer);
    this.fallbackTimer = null;
  }

  async fetchOnce() {
    if (this.fetching || this.stopped) return;
    this.fetching = true;
    try {
      const etag = this.version === null ? null : `"${this.version}"`;
      const answer = await getResults(this.pollId, etag, this.token);
      if (this.stopped) return;
      if (answer) this.accept(answer.results);
      // The server answers again: once per outage, do not wait out a long
      // backoff before reopening the socket.
      if (!this.hurried && this.reconnectTimer !== null && this.reconnectAt - Date.now() > 1000) {
        this.hurried = true;
        this.connect();
      }
    } catch (error) {
      if (error instanceof ApiError && error.code === 'not_found') this.gone();
      if (error instanceof ApiError && error.code === 'results_hidden') this.onHidden(null);
    } finally {
      this.fetching = false;
    }
  }
}
