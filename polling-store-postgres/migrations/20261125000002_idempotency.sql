-- Idempotency keys (the Idempotency-Key header): one row per scoped key,
-- shared by every replica. While the first request runs, `status` is NULL and
-- `expires_at` is the end of its lease; once it completed, the row holds the
-- response to replay until `expires_at`. Expired rows count as absent and are
-- deleted a few at a time by later inserts.

CREATE TABLE idempotency_keys (
    key           text        PRIMARY KEY,
    fingerprint   bytea       NOT NULL CHECK (length(fingerprint) = 32),
    token         uuid        NOT NULL,
    status        smallint    CHECK (status BETWEEN 100 AND 599),
    header_names  text[],
    header_values text[],
    body          bytea,
    expires_at    timestamptz NOT NULL,
    CHECK ((status IS NULL) = (body IS NULL)),
    CHECK (cardinality(header_names) = cardinality(header_values))
);

CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
