package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/errgroup"
)

// Shape of the generated store.
const (
	genDays     = 90
	genClients  = 200_000
	genManagers = 50
	genDeals    = 100_000
	genTouches  = 1_000_000
	genChunk    = 1_000_000 // calls per INSERT
)

// generate fills the store inside ClickHouse (INSERT ... SELECT from
// numbers(), two statements at a time) through the same tables and
// materialized views as production inserts.
func generate(ctx context.Context, conn driver.Conn, calls int, t0 int64) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	span := int64(genDays * 24 * 3600)
	for off := 0; off < calls; off += genChunk {
		q := genSQL(genEventsSQL, "OFF", off, "COUNT", min(genChunk, calls-off), "T0", t0, "SPAN", span)
		g.Go(func() error { return conn.Exec(gctx, q) })
	}
	for _, q := range []string{genGradesSQL, genClientsSQL, genDealsSQL, genTouchesSQL} {
		q := genSQL(q, "T0", t0, "SPAN", span)
		g.Go(func() error { return conn.Exec(gctx, q) })
	}
	return g.Wait()
}

// genSQL fills the {NAME} placeholders of a generator statement: the
// pairs given, and the shape of the store.
func genSQL(q string, pairs ...any) string {
	pairs = append(pairs, "CLIENTS", genClients, "MANAGERS", genManagers, "DEALS", genDeals, "TOUCHES", genTouches)
	var args []string
	for i := 0; i < len(pairs); i += 2 {
		args = append(args, "{"+pairs[i].(string)+"}", fmt.Sprint(pairs[i+1]))
	}
	return strings.NewReplacer(args...).Replace(q)
}

// liveTraffic is what a query finds that its snapshot lacks with the
// refresher running every DefaultRollupInterval with DefaultRollupMargin:
// about 10 s of traffic at a busy hour (4 calls/s, three times the
// average of this store): 25 calls started in the last minute, the end
// of 12 of the newest stored calls (with reported talk time), and late
// talk-time reports for 3 calls 1 to 20 days old. The new calls are
// numbered from newCalls: every run on a reused store needs new ones (an
// event of a stored call with other content under the same key would
// break the events' contract).
func liveTraffic(calls, newCalls int, now time.Time) []string {
	return []string{
		genSQL(genEventsSQL, "OFF", newCalls, "COUNT", 25, "T0", now.Unix()-660, "SPAN", 60),
		genSQL(lateEventsSQL, "OFF", calls-12, "COUNT", 12, "STEP", 1),
		genSQL(lateEventsSQL, "OFF", calls-20*calls/genDays, "COUNT", 3, "STEP", 9*calls/genDays),
	}
}

const liveTrafficText = "about 10 s of busy-hour traffic (what a query sees with the refresher running every " +
	"5s with a 5s margin): 25 new calls, 12 calls ending, 3 late events of calls 1-20 days old"

// regradeSQL grades a client A from 60 days ago: every call of theirs
// since then (about 50 in this store) changes category.
func regradeSQL(now time.Time) string {
	return fmt.Sprintf(`INSERT INTO client_categories (phone, category, valid_from, origin, recorded_at)
		SELECT '+79161007919', 'A', toDateTime(%d), 'bench', now()`, now.Unix()-60*86400)
}

// genEventsSQL generates calls number [{OFF}, {OFF}+{COUNT}) with starts
// spread evenly over {SPAN} seconds from {T0} (plus up to 10 minutes),
// 65% answered, by {MANAGERS} managers to {CLIENTS} clients on 10 lines.
// Clients arrive evenly over the span, as a sales team's new leads do:
// client c's first day is c/{CLIENTS} of the way through it, and a call
// goes to one of the clients who have arrived by its start, so every
// period has its new leads, called first soon after they arrive (a day
// later on average), and early clients call more often than late ones;
// 60% arrive as one snapshot event, 40% as a start, an answer (or another
// ringing) and an end event, half of the answers without a start time;
// Zadarma-like calls (20%) report talk seconds.
const genEventsSQL = `
INSERT INTO call_events (provider, call_id, event_key, received_at, direction, started_at, answered_at, ended_at,
  client_phone, line_phone, line_source, manager, manager_rank, status, talk_seconds, recording_url, recording_ref, spool_seq)
SELECT
  provider, call_id,
  concat(toString(k), '/', toString(h2 % 100000)) AS event_key,
  toDateTime(multiIf(k = 0 AND nev = 3, st, k = 1, st + ring, en) + 1) AS received_at,
  if(k = 1, 'unknown', dir) AS direction,
  toDateTime(if(k = 1 AND bitAnd(h2, 1) = 0, 0, st)) AS started_at,
  toDateTime(if(answered AND (nev = 1 OR k = 1), st + ring, 0)) AS answered_at,
  toDateTime(if(nev = 1 OR k = 2, en, 0)) AS ended_at,
  if(k = 1, '', client) AS client_phone,
  if(k = 1, '', line) AS line_phone,
  if(k = 1, '', src) AS line_source,
  multiIf(nev = 1, mgr, k = 0, ringer, k = 1, if(answered, mgr, ringer2), mgr) AS manager,
  toUInt8(multiIf(nev = 1, if(answered, 2, 0), k = 0, 0, k = 1, if(answered, 2, 0), 1)) AS manager_rank,
  if(nev = 1 OR k = 2, status, 'none') AS status,
  toUInt32(if((nev = 1 OR k = 2) AND answered AND provider = 'zadarma', talk, 0)) AS talk_seconds,
  if((nev = 1 OR k = 2) AND answered, concat('r/', toString(n)), '') AS recording_url,
  '' AS recording_ref,
  n * 3 + k AS spool_seq
FROM
(
  SELECT
    number AS n,
    intHash64(number) AS h,
    intHash64(number + 1000000000) AS h2,
    if(h % 10 < 6, 1, 3) AS nev,
    if(intDiv(h, 16) % 5 = 0, 'zadarma', 'generic') AS provider,
    concat(lower(hex(h)), '-', toString(number)) AS call_id,
    if(intDiv(h, 256) % 2 = 0, 'inbound', 'outbound') AS dir,
    {T0} + intDiv((number - {OFF}) * {SPAN}, {COUNT}) + intDiv(h, 4096) % 600 AS st,
    intDiv(h, 65536) % 100 < 65 AS answered,
    5 + intDiv(h, 16777216) % 40 AS ring,
    10 + intDiv(h2, 2) % 900 AS talk,
    st + ring + if(answered, talk, 0) AS en,
    concat('+7916', toString(1000000 + intDiv(h2, 1024) % (1 + intDiv((st - {T0}) * {CLIENTS}, {SPAN} + 600)))) AS client,
    concat('+7495', toString(1000000 + intDiv(h2, 1048576) % 10)) AS line,
    ['yandex', 'google', 'vk', 'site', 'avito', '2gis', 'referral', '', '', ''][intDiv(h2, 1048576) % 10 + 1] AS src,
    toString(100 + intDiv(h, 4294967296) % {MANAGERS}) AS mgr,
    toString(100 + intDiv(h2, 4294967296) % {MANAGERS}) AS ringer,
    toString(100 + intDiv(h2, 68719476736) % {MANAGERS}) AS ringer2,
    multiIf(answered, 'answered', dir = 'inbound', 'missed', ['cancelled', 'busy', 'failed'][intDiv(h2, 65536) % 3 + 1]) AS status,
    range(toUInt64(nev)) AS ks
  FROM numbers({OFF}, {COUNT})
)
ARRAY JOIN ks AS k`

// lateEventsSQL sends, for calls number {OFF} + i*{T0} (i < {COUNT}), an
// event that reports talk time of 77 seconds (a different number from the
// stored one, so the call's talk time changes) and an ending 77 s after
// the answer; {SPAN} is unused padding for fmt.
const lateEventsSQL = `
INSERT INTO call_events (provider, call_id, event_key, received_at, status, talk_seconds, manager, manager_rank, spool_seq)
SELECT
  if(intDiv(h, 16) % 5 = 0, 'zadarma', 'generic'),
  concat(lower(hex(h)), '-', toString(n)),
  'late', now(), 'answered', toUInt32(77), '', toUInt8(0), n * 3 + 2
FROM (SELECT {OFF} + number * {STEP} AS n, intHash64(n) AS h FROM numbers({COUNT}))`

// The rest of the store: grade history (0 to 3 rows per client, a sixth
// of them "unknown"), clients (30%% with a source), deals, touches.
const (
	genGradesSQL = `
INSERT INTO client_categories (phone, category, valid_from, origin, recorded_at)
SELECT
  concat('+7916', toString(1000000 + p)) AS phone,
  ['A', 'B', 'C', 'C', 'B', 'unknown'][intDiv(intHash64(p * 7 + j), 7) % 6 + 1] AS category,
  toDateTime({T0} - 30 * 86400 + intDiv(intHash64(p * 7 + j), 1024) % ({SPAN} + 30 * 86400)) AS valid_from,
  'bench' AS origin,
  valid_from AS recorded_at
FROM (SELECT number AS p, range(toUInt64([0, 1, 1, 1, 1, 1, 2, 2, 2, 3][intHash64(number) % 10 + 1])) AS js FROM numbers({CLIENTS}))
ARRAY JOIN js AS j`
	genClientsSQL = `
INSERT INTO clients (phone, name, category, need, budget, urgency, source, manager, origin, updated_at, version)
SELECT
  concat('+7916', toString(1000000 + number)), concat('Client ', toString(number)),
  ['unknown', 'A', 'B', 'C'][intHash64(number) % 4 + 1], 'unknown', 'unknown', 'unknown',
  if(intHash64(number + 5) % 10 < 3, ['crm-yandex', 'crm-vk', 'exhibition'][intHash64(number + 6) % 3 + 1], ''),
  toString(100 + intHash64(number + 7) % {MANAGERS}), 'csv', toDateTime({T0}), toUInt64(1)
FROM numbers({CLIENTS})`
	genDealsSQL = `
INSERT INTO deals (origin, deal_id, phone, stage, amount, loss_reason, source, manager, created_at, closed_at, updated_at, version)
SELECT
  'csv', toString(number),
  concat('+7916', toString(1000000 + intHash64(number) % {CLIENTS})),
  ['open', 'won', 'lost'][intHash64(number + 1) % 3 + 1] AS stage,
  toDecimal64(1000 + intHash64(number + 2) % 100000, 2),
  if(stage = 'lost', 'price', ''),
  if(intHash64(number + 3) % 2 = 0, ['yandex', 'google', 'crm-vk'][intHash64(number + 4) % 3 + 1], ''),
  toString(100 + intHash64(number + 5) % {MANAGERS}),
  toDateTime({T0} + intHash64(number + 6) % {SPAN}) AS created,
  if(stage = 'open', toDateTime(0), toDateTime(created + intHash64(number + 7) % (14 * 86400))),
  created, toUInt64(1)
FROM numbers({DEALS})`
	genTouchesSQL = `
INSERT INTO touches (touch_key, touch_id, phone, lead_id, action, at, utm_source, received_at, version)
SELECT
  concat('id:t', toString(number)), concat('t', toString(number)),
  if(intHash64(number) % 20 = 0, '', concat('+7916', toString(1000000 + intHash64(number + 1) % ({CLIENTS} * 3 / 2)))) AS phone,
  if(phone = '', toString(intHash64(number + 2) % {DEALS}), ''),
  ['site_visit', 'site_visit', 'site_visit', 'pricing_page', 'form_view', 'application', 'email_open', 'link_click'][intHash64(number + 3) % 8 + 1],
  toDateTime({T0} + intDiv(number * {SPAN}, {TOUCHES})) AS at,
  ['yandex', 'google', 'vk', ''][intHash64(number + 4) % 4 + 1], at, toUInt64(1)
FROM numbers({TOUCHES})`
)
