CREATE TABLE certificates(arn TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, type TEXT, status TEXT, domain TEXT, sans TEXT NOT NULL, key_algorithm TEXT, serial TEXT, issuer TEXT, not_before INTEGER, not_after INTEGER, in_use_by TEXT NOT NULL, renewal_eligibility TEXT, tags TEXT NOT NULL, managed INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_run INTEGER NOT NULL, gone_at INTEGER);
CREATE INDEX certificates_scope ON certificates(account, region);
CREATE TABLE changes(arn TEXT NOT NULL, at INTEGER NOT NULL, field TEXT NOT NULL, old TEXT, new TEXT);
CREATE TABLE runs(id INTEGER PRIMARY KEY, started INTEGER NOT NULL, finished INTEGER NOT NULL, summary TEXT NOT NULL);
