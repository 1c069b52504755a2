-- A journal as hsm2acm wrote it at schema version 3 (generations, before not_before and
-- ari_id). test_vectors.c loads it and opens it with h2a_journal_open, which migrates it to
-- the current version and fills the new columns from each row's certificate. l1/l2 are
-- certificates of one CA made for this fixture (P-256, AKI set; l1's serial has its top bit
-- set, so its ARI certID keeps DER's leading zero); 'bad' has a certificate that does not parse.
BEGIN;
CREATE TABLE requests( id TEXT PRIMARY KEY, body_hash TEXT NOT NULL, body TEXT NOT NULL, requester TEXT NOT NULL, state TEXT NOT NULL, key_type TEXT, key_label TEXT, key_id TEXT, kcv TEXT, serial TEXT, not_after TEXT, cert_pem TEXT, chain_pem TEXT, error TEXT, failed_step TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL, issuer_handle TEXT, reason TEXT NOT NULL DEFAULT 'enroll');
CREATE TABLE targets( request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE, idx INTEGER NOT NULL, region TEXT NOT NULL, account TEXT, certificate_arn TEXT, state TEXT NOT NULL, resume_from TEXT, new_arn INTEGER NOT NULL DEFAULT 0, secret_name TEXT, secret_arn TEXT, secret_expiry INTEGER, imported_arn TEXT, serial TEXT, error TEXT, timings TEXT, updated INTEGER NOT NULL, PRIMARY KEY(request_id, idx));
CREATE TABLE generations( arn TEXT NOT NULL, generation INTEGER NOT NULL, request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE, target_idx INTEGER NOT NULL, reason TEXT NOT NULL, imported_at INTEGER NOT NULL, key_destroyed_at INTEGER, PRIMARY KEY(arn, generation), UNIQUE(request_id, target_idx));
INSERT INTO requests(id, body_hash, body, requester, state, key_type, key_label, key_id, kcv, serial, not_after, cert_pem, chain_pem, created, updated, reason) VALUES('web', '00', '{}', 'team-web', 'cleaned', 'ec:P-256', 'h2a-web', 'aa6abda280', '1a2b3c', '8a1b2c3d4e5f60718293a4b5', '2026-10-31T00:00:00Z', '-----BEGIN CERTIFICATE-----
MIIBWDCB/qADAgECAg0AihssPU5fYHGCk6S1MAoGCCqGSM49BAMCMCAxHjAcBgNV
BAMMFWhzbTJhY20gdjMgZml4dHVyZSBDQTAeFw0yNjEwMDEwMDAwMDBaFw0yNjEw
MzEwMDAwMDBaMBoxGDAWBgNVBAMMD3dlYi5leGFtcGxlLmNvbTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABDcujyfUO0Tnzxqf7SjYo8eKrJPBUO+7GfJ/ASCQfTry
ZE+hHPgY5ggj8bHF1e4exUqFpLpdh11mKQtihlwC44ajIzAhMB8GA1UdIwQYMBaA
FKtgLp+ICzBouYFQjP0mmkXE6/0QMAoGCCqGSM49BAMCA0kAMEYCIQCITGddjoyB
3TXgBpH6GPoefi/QXVf112jiherYd2KNuQIhANjXa3jOau6xmykcDAZ7GQGJ/C08
BnAwb8idQgqlkXbf
-----END CERTIFICATE-----
', '', 1790812800, 1790812860, 'enroll');
INSERT INTO requests(id, body_hash, body, requester, state, key_type, key_label, key_id, kcv, serial, not_after, cert_pem, chain_pem, created, updated, reason) VALUES('web.g2', '00', '{}', 'team-web', 'cleaned', 'ec:P-256', 'h2a-web.g2', 'aa6add4680', '1a2b3c', '1092', '2026-11-24T00:00:00Z', '-----BEGIN CERTIFICATE-----
MIIBTTCB86ADAgECAgIQkjAKBggqhkjOPQQDAjAgMR4wHAYDVQQDDBVoc20yYWNt
IHYzIGZpeHR1cmUgQ0EwHhcNMjYxMDI1MDAwMDAwWhcNMjYxMTI0MDAwMDAwWjAa
MRgwFgYDVQQDDA93ZWIuZXhhbXBsZS5jb20wWTATBgcqhkjOPQIBBggqhkjOPQMB
BwNCAARzie/lrumZWn45/X0NeuYmSg8+ewGnsgO92S1wUH2TBrD/bWVG6VW0w36o
v3+R1xgm6VJNOW7qL27YlXWjSCz5oyMwITAfBgNVHSMEGDAWgBSrYC6fiAswaLmB
UIz9JppFxOv9EDAKBggqhkjOPQQDAgNJADBGAiEAxo0dktyc+ZvI2IM7exoDeF0n
XTA68HFsFIDRqsR/0J0CIQDppYNVRBi8ksUDRws34dPKpSX/RlcVSKtU6z4SMXoh
ig==
-----END CERTIFICATE-----
', '', 1792886400, 1792886460, 'renew');
INSERT INTO requests(id, body_hash, body, requester, state, key_type, key_label, key_id, kcv, serial, not_after, cert_pem, chain_pem, created, updated, reason) VALUES('bad', '00', '{}', 'team-web', 'cleaned', 'ec:P-256', 'h2a-bad', 'aa6abda2e4', '1a2b3c', '77', '2026-12-01T00:00:00Z', '-----BEGIN CERTIFICATE-----', '', 1790812900, 1790812960, 'enroll');
INSERT INTO requests(id, body_hash, body, requester, state, key_type, key_label, key_id, kcv, serial, not_after, cert_pem, chain_pem, created, updated, reason) VALUES('fresh', '00', '{}', 'team-web', 'validated', 'ec:P-256', 'h2a-fresh', 'aa6abda348', '1a2b3c', NULL, NULL, NULL, '', 1790813000, 1790813060, 'enroll');
INSERT INTO targets(request_id, idx, region, certificate_arn, state, imported_arn, updated) VALUES('web', 0, 'eu-west-1', 'arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-4000-8000-00000000000a', 'cleaned', 'arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-4000-8000-00000000000a', 1790812860);
INSERT INTO targets(request_id, idx, region, certificate_arn, state, imported_arn, updated) VALUES('web.g2', 0, 'eu-west-1', 'arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-4000-8000-00000000000a', 'cleaned', 'arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-4000-8000-00000000000a', 1792886460);
INSERT INTO targets(request_id, idx, region, certificate_arn, state, imported_arn, updated) VALUES('bad', 0, 'eu-west-1', 'arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-4000-8000-00000000000b', 'cleaned', 'arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-4000-8000-00000000000b', 1790812960);
INSERT INTO targets(request_id, idx, region, state, updated) VALUES('fresh', 0, 'eu-west-1', 'validated', 1790813060);
INSERT INTO generations VALUES('arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-4000-8000-00000000000a', 1, 'web', 0, 'enroll', 1790812860, NULL);
INSERT INTO generations VALUES('arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-4000-8000-00000000000a', 2, 'web.g2', 0, 'renew', 1792886460, NULL);
INSERT INTO generations VALUES('arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-4000-8000-00000000000b', 1, 'bad', 0, 'enroll', 1790812960, NULL);
PRAGMA user_version=3;
COMMIT;
