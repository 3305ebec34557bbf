-- Deals with clients, from CSV imports (origin 'csv') and CRM pulls (origin
-- 'bitrix24', 'amocrm'). A deal is identified by (origin, deal_id): ids are
-- only unique within the system that issued them, and two CRMs (or a CRM
-- and a hand-made CSV) may both have a deal "123". Every upsert writes the
-- whole deal as a new version; the newest version of each (origin, deal_id)
-- wins (read with LIMIT 1 BY origin, deal_id after ORDER BY version DESC,
-- never by mixing columns of two versions).
--
-- phone is the client's E.164 number, which ties deals to calls and
-- clients. amount is exact money in the installation's currency. closed_at
-- is 0 (1970-01-01) while the deal is open. source and manager are what the
-- CRM credits the deal to; empty when unknown.
CREATE TABLE IF NOT EXISTS deals (
    origin      String,
    deal_id     String,
    phone       String,
    stage       Enum8('open' = 1, 'won' = 2, 'lost' = 3),
    amount      Decimal(18, 2),
    loss_reason String,
    source      String,
    manager     String,
    created_at  DateTime,
    closed_at   DateTime,
    updated_at  DateTime,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (origin, deal_id);
