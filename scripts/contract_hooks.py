"""schemathesis hooks for scripts/contract (loaded through SCHEMATHESIS_HOOKS).

Two things of the contract that a request schema cannot carry:

* A valid handshake on the WebSocket route is answered 101 Switching
  Protocols, after which the connection speaks WebSocket, not HTTP. The HTTP
  client schemathesis drives (requests) would put that connection back in
  its pool and send the next test's request on it, then read the socket's
  first message as a status line. Such requests drop their session's pooled
  connections once the 101 arrives.

* The documented `Idempotency-Key` (22 to 255 characters) is the rule for a
  request without a voter cookie. A voter's own keys may be shorter (the
  parameter's description says so: they are scoped to that voter), which one
  schema per parameter cannot state. So a request whose key breaks the
  documented schema, which must be refused, is sent without the voter
  cookie: the rule the schema states is the one under test.
"""

import re

import schemathesis

LIVE = "/api/polls/{id}/live"
IDEMPOTENT = {("POST", "/api/polls"), ("POST", "/api/polls/{id}/votes")}
# The document's `IdempotencyKey` pattern.
DOCUMENTED_KEY = re.compile(r'[!#-~]{22,255}|"[!#-~]{22,255}"')


def _drop_upgraded_connection(response, *args, **kwargs):
    if response.status_code == 101:
        # The adapter's pools: the upgraded connection is closed when it
        # is released into a pool that no longer exists.
        response.connection.close()
    return response


@schemathesis.hook
def before_call(context, case, kwargs):
    operation = (case.operation.method.upper(), case.operation.path)
    if case.operation.path == LIVE:
        kwargs["hooks"] = {"response": [_drop_upgraded_connection]}
    elif operation in IDEMPOTENT and case.headers:
        key = case.headers.get("Idempotency-Key")
        if isinstance(key, str) and not DOCUMENTED_KEY.fullmatch(key):
            if case.cookies:
                case.cookies.pop("polling_voter", None)
