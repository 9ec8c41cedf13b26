-- rekap SQLite schema, version 1. The one description of the embedded store.
-- Invariants enforced here: codes are digits of the right length, TPS ids are their desa
-- code plus a 3-digit number, and ledger rows (events, batches) are append-only.

CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS regions (
  code     TEXT PRIMARY KEY
           CHECK (length(code) IN (2, 4, 6, 10) AND (code NOT GLOB '*[^0-9]*' OR
                  (substr(code, 1, 2) = '99' AND substr(code, 3) NOT GLOB '*[^0-9A-Z]*'))),
  level    INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
  kind     TEXT NOT NULL,
  name     TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  source   TEXT NOT NULL CHECK (source IN ('kpu2024', 'kemendagri2025')),
  name_alt TEXT,
  CHECK (level = CASE length(code) WHEN 2 THEN 1 WHEN 4 THEN 2 WHEN 6 THEN 3 ELSE 4 END)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tps (
  id   TEXT PRIMARY KEY
       CHECK (length(id) = 13 AND id NOT GLOB '*[^0-9]*' AND substr(id, 11) <> '000'),
  desa TEXT NOT NULL REFERENCES regions (code) CHECK (desa = substr(id, 1, 10)),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS schemas (
  id   TEXT PRIMARY KEY,
  text TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS elections (
  id   TEXT PRIMARY KEY,
  text TEXT NOT NULL
) STRICT;

-- One signed Merkle batch of events (docs/ledger.md).
CREATE TABLE IF NOT EXISTS batches (
  batch     INTEGER PRIMARY KEY CHECK (batch >= 1),
  first_seq INTEGER NOT NULL CHECK (first_seq >= 1),
  size      INTEGER NOT NULL CHECK (size >= 1),
  time_ms   INTEGER NOT NULL,
  root      BLOB NOT NULL CHECK (length(root) = 32),
  prev_head BLOB NOT NULL CHECK (length(prev_head) = 32),
  signature BLOB NOT NULL CHECK (length(signature) = 64)
) STRICT;

-- The ledger: canonical event bytes and their SHA-256, in global order.
CREATE TABLE IF NOT EXISTS events (
  seq   INTEGER PRIMARY KEY CHECK (seq >= 1),
  batch INTEGER NOT NULL,
  hash  BLOB NOT NULL CHECK (length(hash) = 32),
  body  BLOB NOT NULL CHECK (length(body) BETWEEN 8 AND 65536)
) STRICT;

CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'ledger is append-only: UPDATE of events refused'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'ledger is append-only: DELETE of events refused'); END;
CREATE TRIGGER IF NOT EXISTS batches_append_only_update BEFORE UPDATE ON batches
BEGIN SELECT RAISE(ABORT, 'ledger is append-only: UPDATE of batches refused'); END;
CREATE TRIGGER IF NOT EXISTS batches_append_only_delete BEFORE DELETE ON batches
BEGIN SELECT RAISE(ABORT, 'ledger is append-only: DELETE of batches refused'); END;
