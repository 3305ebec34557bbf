-- Delivery markers of the nightly e-mail report: an append-only log of
-- claims, one row per event, read by the claim protocol in report/claim.go
-- (docs/report.md, "Exactly once"). A (day, recipient) pair is sent when a
-- 'sent' row exists for it. An attempt first appends a 'claim' row with a
-- random token and reads all rows of the pair back; it may send only if its
-- claim is the only live one (not 'sent' or 'released', and younger than the
-- lease). It then appends 'sent', or 'released' if it gave up.
--
-- Plain MergeTree, never Replacing or Collapsing: no row may disappear in a
-- merge. `at` is the server's now() at insert (INSERT ... SELECT now()), so
-- every lease is measured on one clock. recipient is the lower-cased address.
CREATE TABLE IF NOT EXISTS report_sent (
    day       Date,
    recipient String,
    token     String,
    state     Enum8('claim' = 1, 'sent' = 2, 'released' = 3),
    replica   String,
    at        DateTime
) ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (day, recipient, token, state);
