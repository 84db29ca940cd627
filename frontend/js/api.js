// The HTTP API (polling-server/openapi.json): one function per operation, and
// ApiError for every refusal, with a message fit to show to a voter. The
// API's own messages are English; known error codes are told in the app's
// language instead (i18n.js), and the API's message is shown only in
// English, where it says more than the code.

import { language, t } from './i18n.js';

/** A refused or failed request. `code` is the API's error code, or one of
 * `network` (no answer at all) and `bad_response` (an answer that is not the
 * API's JSON). `status` is the HTTP status (0 without an answer). */
export class ApiError extends Error {
  constructor({ status, code, message, field = null, retryAfter = null }) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }

  /** What to tell a person about this error. */
  get userMessage() {
    return describeError(this);
  }
}

/** What to tell a person, by error code. */
const MESSAGES = {
  network: () => t('error.network'),
  bad_response: () => t('error.bad_response'),
  unavailable: () => t('error.unavailable'),
  too_many_sockets: () => t('error.too_many_sockets'),
  rate_limited: () => t('error.rate_limited'),
  not_found: () => t('error.not_found'),
  route_not_found: () => t('error.route_not_found'),
  already_voted: () => t('error.already_voted'),
  secret_vote_change: () => t('error.secret_vote_change'),
  poll_closed: () => t('error.poll_closed'),
  invalid_choice: () => t('error.invalid_choice'),
  unauthorized: () => t('error.unauthorized'),
  forbidden: () => t('error.forbidden'),
  payload_too_large: () => t('error.payload_too_large'),
  unsupported_media_type: () => t('error.unsupported_media_type'),
  malformed_json: () => t('error.malformed_json'),
  bad_request: () => t('error.bad_request'),
  invalid_query: () => t('error.invalid_query'),
  method_not_allowed: () => t('error.method_not_allowed'),
  invite_required: () => t('error.invite_required'),
  invite_invalid: () => t('error.invite_invalid'),
  invite_used: () => t('error.invite_used'),
  invite_not_found: () => t('error.invite_not_found'),
};

/** What is wrong with a refused poll draft, by the field the API names
 * (in languages other than English, where the API's message would be). */
const FIELD_MESSAGES = {
  question: () => t('error.invalidQuestion'),
  options: () => t('error.invalidOptions'),
  max_choices: () => t('error.invalidMaxChoices'),
  closes_at: () => t('error.invalidClosesAt'),
  invites: () => t('form.errInviteCount', { max: '10000' }),
  method: () => t('error.invalidMethod'),
};

/** A sentence for `error` (an ApiError, or anything thrown), in the app's
 * language. */
export function describeError(error) {
  if (!(error instanceof ApiError)) return MESSAGES.network();
  if (error.code === 'unavailable' && error.retryAfter) return t('error.unavailableRetry', { seconds: error.retryAfter });
  if (error.code === 'rate_limited' && error.retryAfter) return t('error.rateLimitedRetry', { seconds: error.retryAfter });
  const english = language() === 'en';
  if (error.code === 'invalid_poll' || error.code === 'invalid_field') {
    if (english && error.message) return sentence(error.message);
    return FIELD_MESSAGES[error.field] ? FIELD_MESSAGES[error.field]() : t('error.invalid');
  }
  if (MESSAGES[error.code]) return MESSAGES[error.code]();
  if (error.status >= 500) return MESSAGES.unavailable();
  if (english && error.message) return sentence(error.message);
  return MESSAGES.bad_response();
}

/** The server's lower-case message as a sentence. */
function sentence(text) {
  if (!text) return '';
  const trimmed = String(text).trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** `fetch`, with a network failure as an ApiError, noting which server
 * instance answered. */
async function send(path, init) {
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError({ status: 0, code: 'network', message: 'network error' });
  }
  noteServedBy(response);
  return response;
}

/** The ApiError of a refused answer, from its JSON error body if any. */
async function refusal(response) {
  let json = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  const error = json && json.error ? json.error : {};
  const retry = Number.parseInt(response.headers.get('retry-after') || '', 10);
  return new ApiError({
    status: response.status,
    code: error.code || (response.status >= 500 ? 'unavailable' : 'bad_response'),
    message: error.message || response.statusText,
    field: error.field || null,
    retryAfter: Number.isFinite(retry) ? retry : null,
  });
}

/** One request; resolves to `{status, body, headers}` for 2xx and 304,
 * rejects with an ApiError otherwise. */
async function request(method, path, { body, token, headers = {} } = {}) {
  const init = {
    method,
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { accept: 'application/json', ...headers },
  };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (token) init.headers.authorization = `Bearer ${token}`;

  const response = await send(path, init);
  if (response.status === 204 || response.status === 304) {
    return { status: response.status, body: null, headers: response.headers };
  }
  if (!response.ok) throw await refusal(response);
  let json = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  if (json === null) {
    throw new ApiError({ status: response.status, code: 'bad_response', message: 'not JSON' });
  }
  return { status: response.status, body: json, headers: response.headers };
}

/** Shows, in the footer, which server instance answered the last API call
 * (its `X-Served-By` header): behind a load balancer it changes. */
function noteServedBy(response) {
  const instance = response.headers.get('x-served-by');
  const footer = document.getElementById('served-by');
  if (!instance || !footer) return;
  footer.dataset.instance = instance;
  footer.textContent = t('footer.servedBy', { instance });
  footer.hidden = false;
}

const pollPath = (id) => `/api/polls/${encodeURIComponent(id)}`;

/** `GET /api/polls`: one page, newest first. */
export async function listPolls({ limit = 10, cursor = null } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (cursor) query.set('cursor', cursor);
  return (await request('GET', `/api/polls?${query}`)).body;
}

/** `POST /api/polls`: the new poll with its `manage_token`. */
export async function createPoll(draft) {
  return (await request('POST', '/api/polls', { body: draft })).body;
}

/** `GET /api/polls/{id}`. */
export async function getPoll(id) {
  return (await request('GET', pollPath(id))).body;
}

/** `POST /api/polls/{id}/votes`: `{receipt, results, replayed}`; `replayed`
 * is true when the server answered 200: this voter had voted before, and
 * either cast this ballot then or (where the poll allows it) changed their
 * vote to it. `results` is null when the poll hides them from this voter. */
export async function castVote(id, ballot, invite = null) {
  // `ballot`: `{choices}`, `{ranking}` or `{scores}` (tally.js), or an array
  // of choices; `invite`: an invite-only poll's code.
  const marks = Array.isArray(ballot) ? { choices: ballot } : ballot;
  const vote = invite ? { ...marks, invite } : marks;
  const { status, body } = await request('POST', `${pollPath(id)}/votes`, { body: vote });
  return { ...body, replayed: status === 200 };
}

/** `GET /api/polls/{id}/results`; null when `etag` is still current (304).
 * With the manage `token`, the owner sees the counts whatever the poll's
 * visibility; otherwise hidden counts are an ApiError `results_hidden`. */
export async function getResults(id, etag = null, token = null) {
  const headers = etag ? { 'if-none-match': etag } : {};
  const { status, body, headers: answer } = await request('GET', `${pollPath(id)}/results`, {
    headers,
    token,
  });
  if (status === 304) return null;
  return { results: body, etag: answer.get('etag') };
}

/** `POST /api/polls/{id}/close` with the manage token: the closed poll. */
export async function closePoll(id, token) {
  return (await request('POST', `${pollPath(id)}/close`, { token })).body;
}

/** `DELETE /api/polls/{id}` with the manage token. */
export async function deletePoll(id, token) {
  await request('DELETE', pollPath(id), { token });
}

/** The files `GET /api/polls/{id}/export/{file}` offers the poll's owner. */
export const EXPORTS = ['results.csv', 'results.json', 'ballots.csv'];

/** Downloads export `file` of poll `id` with the manage token: `{blob,
 * filename}`, the name from the answer's Content-Disposition. */
export async function downloadExport(id, file, token) {
  return download(`${pollPath(id)}/export/${file}`, token, `poll-${id}-${file}`);
}

/** A file for the owner: `{blob, filename}`, the name from the answer's
 * Content-Disposition, else `fallback`. */
async function download(path, token, fallback) {
  const response = await send(path, {
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw await refusal(response);
  const disposition = response.headers.get('content-disposition') || '';
  const match = /filename="([^"]+)"/.exec(disposition);
  return { blob: await response.blob(), filename: match ? match[1] : fallback };
}

/** `GET /api/polls/{id}/invites` with the manage token: the invites
 * (`{code, link, status, created_at, revoked_at}`), oldest first. */
export async function listInvites(id, token) {
  return (await request('GET', `${pollPath(id)}/invites`, { token })).body.invites;
}

/** `POST /api/polls/{id}/invites`: `count` new invites. */
export async function addInvites(id, count, token) {
  return (await request('POST', `${pollPath(id)}/invites`, { token, body: { count } })).body.invites;
}

/** `POST /api/polls/{id}/invites/revoke`: the revoked invite. */
export async function revokeInvite(id, code, token) {
  return (await request('POST', `${pollPath(id)}/invites/revoke`, { token, body: { code } })).body;
}

/** The vote links with their codes as CSV, for the owner: `{blob, filename}`. */
export async function downloadInvites(id, token) {
  return download(`${pollPath(id)}/invites.csv`, token, `poll-${id}-invites.csv`);
}

/** The URL of a poll's QR code (an SVG of its share link). */
export function qrCodeUrl(id) {
  return `${pollPath(id)}/qr.svg`;
}

/** The WebSocket URL of a poll's live results, on this page's host. */
export function liveUrl(id) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}${pollPath(id)}/live`;
}
