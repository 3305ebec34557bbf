// Package simulate generates realistic PBX traffic for callpulse: the engine
// behind `callpulse simulate`, used by `make run` to demo the product and by
// benchmarks.
//
// It has three parts that share one model of a sales team:
//
//   - Clients and WriteClientsCSV produce the client base that is imported with
//     `callpulse import clients FILE.csv` before a simulation: Russian mobile
//     numbers and names, graded A, B, C or not at all, some graded only through
//     their need/budget/urgency answers.
//   - Deals and WriteDealsCSV produce the clients' deals, created today and
//     won, lost or still open with odds by grade (`callpulse import deals`),
//     and Touches their site and CRM touches, which Run posts to
//     POST {URL}/api/v1/touches before any call: converted clients looked
//     at prices and applied, so the scoring threshold calibrates and the
//     call queue has leads above it.
//   - Run posts call snapshots to the generic webhook
//     (POST {URL}/webhooks/generic). It first replays Options.Backfill of past
//     traffic as fast as callpulse accepts it, weighted towards business hours,
//     then continues in real time at Options.Rate calls per second.
//
// # The model
//
// Every call is planned whole when it starts: direction, manager, client,
// outcome, ring and talk time. Each manager has a habit that decides which
// grades of client they spend their talk time on: one is on the 80/19/1
// target, one spends too much on C clients, one too much on B, so the
// director's report shows a real spread. About 15% of calls come from numbers
// nobody has seen before (new leads). About 70% of inbound calls are answered;
// the rest are missed, and most of those are returned later by an outbound
// call from the same manager. Outbound calls that are not answered end as
// cancelled, busy or failed ("missed" is only for inbound calls). Talk time is
// log-normal with a median of three minutes and a tail to half an hour.
//
// # Delivery
//
// An answered call is reported twice, as the PBX would: a snapshot when it is
// answered (no ended_at) and a final one when it ends, carrying the recording
// URL for most calls. Other calls have only the final snapshot. Callpulse folds
// snapshots by call_id, so the simulator tests that on purpose: about 5% of
// posts are sent twice and about 5% of calls have their snapshots delivered in
// reverse order. While replaying the past, snapshots are posted in small JSON
// arrays. A 503 is retried after its Retry-After; other 5xx and transport
// errors are retried with backoff; a 4xx means the simulator sent something
// wrong and is logged as an error.
//
// Nothing is delivered before the time it describes, and all waiting goes
// through Options.Now and Options.Sleep, so tests drive a whole simulated day
// with a fake clock in no real time.
package simulate
