-- A WebOps database from before encryption was set up: secrets in plain text (the rows the
-- guide's encrypt_secrets finds), plus empty values and a soft-deleted row.
INSERT INTO auth_user (id, username) VALUES (1, 'admin'), (2, 'john'), (3, 'zoë');
INSERT INTO core_two_factor_auth (id, user_id, secret, is_enabled, backup_codes) VALUES
  (1, 1, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', true, '[]'),
  (2, 2, 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU', false, '[]');
INSERT INTO core_webhook (id, user_id, name, secret, is_active, is_deleted, deleted_at) VALUES
  (1, 1, 'GitHub Deploy Hook', '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', true, false, NULL),
  (2, 3, 'Déploiement ✓', '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752', false, true, now());
INSERT INTO databases (id, name, db_type, host, username, password, api_key, is_deleted) VALUES
  (1, 'shop', 'postgresql', 'db1.internal', 'shop', 'pässwörd-日本-1', '', false),
  (2, 'cache', 'redis', 'cache.internal', 'cache', 'hunter2-legacy', NULL, true);
INSERT INTO automation_data_source_credentials (id, name, credentials) VALUES
  (1, 'stripe', '{"api_key": "sk_live_legacy_1", "username": "svc", "port": 443, "refresh_token": ""}');
INSERT INTO core_google_connection (id, user_id, email, access_token, refresh_token, id_token) VALUES
  (1, 2, 'john@example.org', '', '', '');
SELECT setval(pg_get_serial_sequence(t, 'id'), 10)
  FROM unnest(ARRAY['auth_user', 'core_two_factor_auth', 'core_webhook', 'databases',
                    'automation_data_source_credentials', 'core_google_connection']) AS t;
