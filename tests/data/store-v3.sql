-- A store as pxtsgw 0.1 (schema version 3, before per-application scope)
-- left it: one running notification with two addresses, one callback in
-- the outbox and two tracking records. test_store migrates it to the
-- current version; every row must then belong to the anonymous
-- application ("").
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('created', '2026-11-01T00:00:00Z');
CREATE TABLE deliveries (
 id INTEGER PRIMARY KEY AUTOINCREMENT,
 event TEXT NOT NULL,
 correlator TEXT NOT NULL,
 delivery INTEGER NOT NULL,
 attempt INTEGER NOT NULL,
 result TEXT NOT NULL CHECK (result IN ('delivered', 'failed')),
 time TEXT NOT NULL,
 endpoint TEXT NOT NULL,
 detail TEXT);
CREATE INDEX deliveries_correlator ON deliveries (correlator, id);
CREATE INDEX deliveries_delivery ON deliveries (delivery);
CREATE TABLE notifications (
 correlator TEXT PRIMARY KEY,
 endpoint TEXT NOT NULL,
 interface_name TEXT NOT NULL,
 criteria INTEGER NOT NULL,
 frequency_ms INTEGER NOT NULL,
 count INTEGER NOT NULL,
 sent INTEGER NOT NULL,
 style INTEGER NOT NULL,
 end_ms INTEGER NOT NULL,
 created_ms INTEGER NOT NULL);
CREATE TABLE notification_addresses (
 correlator TEXT NOT NULL REFERENCES notifications (correlator) ON DELETE CASCADE,
 idx INTEGER NOT NULL,
 address TEXT NOT NULL,
 sip_uri TEXT NOT NULL,
 reported INTEGER,
 PRIMARY KEY (correlator, idx));
CREATE TABLE outbox (
 delivery INTEGER PRIMARY KEY,
 correlator TEXT NOT NULL,
 endpoint TEXT NOT NULL,
 op INTEGER NOT NULL,
 payload TEXT NOT NULL,
 attempts INTEGER NOT NULL DEFAULT 0,
 created_ms INTEGER NOT NULL);
CREATE INDEX outbox_correlator ON outbox (correlator, delivery);
INSERT INTO notifications VALUES ('old-1', 'http://127.0.0.1:9/cb', 'I', 7, 0, 5, 2, 0, 4102444800000, 1790000000000);
INSERT INTO notification_addresses VALUES ('old-1', 0, 'sip:alice@example.com', 'sip:alice@example.com', 2);
INSERT INTO notification_addresses VALUES ('old-1', 1, 'tel:+15550001', 'sip:+15550001@example.com;user=phone', NULL);
INSERT INTO outbox VALUES (12, 'old-1', 'http://127.0.0.1:9/cb', 3, 'pxtsgw-callback 1 statusEnd' || char(10), 1, 1790000000500);
INSERT INTO deliveries (event, correlator, delivery, attempt, result, time, endpoint, detail) VALUES ('statusNotification_DeliveryAttempted', 'old-1', 11, 1, 'delivered', '2026-11-01T00:00:01.000Z', 'http://127.0.0.1:9/cb', NULL);
INSERT INTO deliveries (event, correlator, delivery, attempt, result, time, endpoint, detail) VALUES ('statusNotification_DeliveryResult', 'old-1', 11, 1, 'delivered', '2026-11-01T00:00:01.000Z', 'http://127.0.0.1:9/cb', NULL);
PRAGMA user_version = 3;
