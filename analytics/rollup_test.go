package analytics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/deal"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/internal/poll"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// The calls of the random streams start within these days, which hold a
// change of daylight-saving time in Europe (2026-10-25).
var (
	streamStart = time.Date(2026, 10, 23, 0, 0, 0, 0, time.UTC)
	streamDays  = 4
	streamZones = []string{"Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York", "UTC"}
	phonePool   = []string{"+79160000001", "+79160000002", "+79160000003", "+79160000004", "+79160000005", ""}
	extPool     = []string{"101", "102", "103", "104"}
	// Lines and the ad sources mapped from them; a line without one, and
	// events that name none.
	linePool    = []string{"+74950000001", "+74950000002", "+74950000003", "+74950000009", ""}
	streamLines = map[string]string{"+74950000001": "yandex", "+74950000002": "avito", "+74950000003": "vk"}
	// Clients with deals and no calls.
	dealOnlyPhones = []string{"+79160000008", "+79160000009"}
)

// streamCall is the true events of one call, partial as PBXs send them.
// Half the ends of "gravitel" calls are arrival-time ends (cmd=event's
// COMPLETED), some of them retried hours late, so that calls have ends of
// either kind or both.
func streamCall(rng *rand.Rand, provider, id string) []call.Event {
	t0 := streamStart.Add(time.Duration(rng.IntN(streamDays*24*60)) * time.Minute).Add(time.Duration(rng.IntN(60)) * time.Second)
	answered := rng.IntN(3) > 0
	ring := time.Duration(3+rng.IntN(30)) * time.Second
	talk := time.Duration(rng.IntN(900)) * time.Second
	phone := phonePool[rng.IntN(len(phonePool))]
	n := 1 + rng.IntN(4)
	var out []call.Event
	for k := range n {
		e := call.Event{Provider: provider, CallID: id, EventKey: fmt.Sprintf("e%d", k), ReceivedAt: t0}
		if k == 0 || rng.IntN(3) == 0 {
			e.StartedAt = t0
			if k > 0 && rng.IntN(3) == 0 {
				e.StartedAt = t0.Add(time.Duration(rng.IntN(7200)) * time.Second) // a later leg
			}
		}
		if rng.IntN(2) == 0 {
			e.Direction = call.Direction(1 + rng.IntN(2))
		}
		if rng.IntN(4) > 0 {
			e.ClientPhone = phone
		} else if rng.IntN(4) == 0 {
			e.ClientPhone = phonePool[rng.IntN(len(phonePool))]
		}
		if rng.IntN(3) > 0 {
			e.LinePhone = linePool[rng.IntN(len(linePool))]
		}
		if rng.IntN(3) > 0 {
			e.Manager, e.ManagerRank = extPool[rng.IntN(len(extPool))], uint8(rng.IntN(3))
		}
		switch rng.IntN(4) {
		case 0:
			if answered {
				e.AnsweredAt = t0.Add(ring + time.Duration(rng.IntN(3))*time.Second)
			}
		case 1:
			e.EndedAt = t0.Add(ring + talk - time.Duration(rng.IntN(60))*time.Second)
			if provider == "gravitel" && rng.IntN(2) == 0 {
				e.ArrivalEnd = true
				e.EndedAt = e.EndedAt.Add(time.Duration(rng.IntN(3)) * time.Duration(rng.IntN(7200)) * time.Second)
			}
			if answered {
				e.Status = call.StatusAnswered
			} else {
				e.Status = call.Status(1 + rng.IntN(4))
			}
		case 2:
			if answered && rng.IntN(2) == 0 {
				e.TalkSeconds = uint32(talk / time.Second)
			}
			e.Status = call.Status(rng.IntN(6))
		}
		out = append(out, e)
	}
	return out
}

// gradeRow is a client_categories row.
type gradeRow struct {
	phone, category       string
	validFrom, recordedAt time.Time
}

func randomGrades(rng *rand.Rand, n int) []gradeRow {
	var out []gradeRow
	for range n {
		vf := streamStart.Add(time.Duration(rng.IntN((streamDays+2)*24)-24) * time.Hour)
		out = append(out, gradeRow{
			phone:      phonePool[rng.IntN(len(phonePool)-1)],
			category:   []string{"A", "B", "C", "unknown"}[rng.IntN(4)],
			validFrom:  vf,
			recordedAt: vf.Add(time.Duration(1+rng.IntN(100000)) * time.Second),
		})
	}
	return out
}

// randomDeals returns n deals whose ids come from a small pool, so that
// later upserts re-version earlier deals (another phone, stage, source).
func randomDeals(rng *rand.Rand, n int) []deal.Deal {
	phones := append(slices.Clone(phonePool[:len(phonePool)-1]), dealOnlyPhones...)
	byID := map[string]deal.Deal{}
	for range n {
		created := streamStart.Add(time.Duration(rng.IntN((streamDays+2)*24*60)-24*60) * time.Minute)
		d := deal.Deal{
			ID:        fmt.Sprint("d", rng.IntN(8)),
			Phone:     phones[rng.IntN(len(phones))],
			Stage:     []deal.Stage{deal.StageOpen, deal.StageWon, deal.StageLost}[rng.IntN(3)],
			Source:    []string{"", "", "crm_seo", "crm_ads"}[rng.IntN(4)],
			CreatedAt: created,
		}
		if d.Stage != deal.StageOpen {
			d.ClosedAt = created.Add(time.Duration(rng.IntN(72)) * time.Hour)
		}
		if d.Stage == deal.StageWon {
			d.Amount = deal.Amount(100 * (1 + rng.IntN(1000)))
		}
		byID[d.ID] = d
	}
	out := make([]deal.Deal, 0, len(byID))
	for _, d := range byID {
		out = append(out, d)
	}
	return out
}

type streamDB struct {
	t      *testing.T
	db     *warehouse.DB
	writer *warehouse.EventWriter
	seq    uint64
	checks int
	// dealVersion orders deal upserts.
	dealVersion int
	// followUpRows counts the rows of each follow-up query's raw form
	// over all checks: a query never giving any tested nothing.
	followUpRows map[string]int
}

func newStreamDB(t *testing.T) *streamDB {
	t.Helper()
	db, err := warehouse.Open(chtest.NewDatabase(t), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &streamDB{t: t, db: db, writer: warehouse.NewEventWriter(db, streamLines, warehouse.NewMetrics(nil), nil)}
}

func (s *streamDB) write(events []call.Event) {
	s.t.Helper()
	var recs []spool.Record
	for _, e := range events {
		b, err := e.Marshal()
		if err != nil {
			s.t.Fatal(err)
		}
		s.seq++
		recs = append(recs, spool.Record{Seq: s.seq, Data: b})
	}
	if err := s.writer.Write(context.Background(), recs); err != nil {
		s.t.Fatal(err)
	}
}

// deals upserts deals as learned at a time after every earlier upsert.
func (s *streamDB) deals(deals []deal.Deal) {
	s.t.Helper()
	s.dealVersion++
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(s.dealVersion) * time.Second)
	if err := s.db.UpsertDeals(context.Background(), deals, "csv", at); err != nil {
		s.t.Fatal(err)
	}
}

// clients imports two clients with an ad source of their own, one of them
// without calls.
func (s *streamDB) clients() {
	s.t.Helper()
	cs := []client.Client{
		{Phone: phonePool[1], Name: "Client 2", Category: client.CategoryB, Source: "exhibition"},
		{Phone: dealOnlyPhones[0], Name: "Client 8", Category: client.CategoryA, Source: "partner"},
	}
	if err := s.db.UpsertClients(context.Background(), cs, "csv", time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)); err != nil {
		s.t.Fatal(err)
	}
}

func (s *streamDB) grade(rows []gradeRow) {
	s.t.Helper()
	ctx := context.Background()
	b, err := s.db.Conn().PrepareBatch(ctx, "INSERT INTO client_categories (phone, category, valid_from, origin, recorded_at)")
	if err != nil {
		s.t.Fatal(err)
	}
	for _, r := range rows {
		if err := b.Append(r.phone, r.category, r.validFrom, "test", r.recordedAt); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		s.t.Fatal(err)
	}
}

// checkAgainstRaw compares every pre-aggregated query with its raw form.
func (s *streamDB) checkAgainstRaw(stage string) {
	s.t.Helper()
	s.checks++
	s.checkTalkAgainstRaw(stage)
	s.checkFunnelAgainstRaw(stage)
	s.checkFollowUpsAgainstRaw(stage)
	s.checkChainInSQL(stage)
}

// checkChainInSQL checks that SQL alone finds the snapshot the Go readers
// read: the view rollup_head (migration 0014), which the dashboards'
// panels read, names the same refresh, generation, rebuild and chain.
func (s *streamDB) checkChainInSQL(stage string) {
	s.t.Helper()
	ctx := context.Background()
	var id, gen uint64
	var rebuilt time.Time
	var chain []uint64
	if err := s.db.Conn().QueryRow(ctx, "SELECT id, generation, rebuilt, chain FROM rollup_head").Scan(
		&id, &gen, &rebuilt, &chain); err != nil {
		s.t.Fatal(err)
	}
	wantID, wantGen, wantRebuilt, wantChain, err := analytics.SnapshotHead(ctx, s.db.Conn())
	if err != nil {
		s.t.Fatal(err)
	}
	if wantID == 0 {
		wantRebuilt = time.Unix(0, 0)
	}
	if id != wantID || gen != wantGen || !rebuilt.Equal(wantRebuilt) || !slices.Equal(chain, wantChain) {
		s.t.Errorf("%s: rollup_head has refresh %d, generation %d, rebuilt %s, chain %v; the readers pick %d, %d, %s, %v",
			stage, id, gen, rebuilt, chain, wantID, wantGen, wantRebuilt, wantChain)
	}
}

// checkFollowUpsAgainstRaw compares missed calls (all, and open only),
// speed to lead, repeat callers and refusals with their raw forms, in one
// of the zones (another at each check), over the stream at every other
// check and over one of its days (another each time) at the others, and
// counts the rows each gave.
func (s *streamDB) checkFollowUpsAgainstRaw(stage string) {
	s.t.Helper()
	ctx := context.Background()
	zone := streamZones[(s.checks+2)%len(streamZones)]
	loc, err := time.LoadLocation(zone)
	if err != nil {
		s.t.Fatal(err)
	}
	store := analytics.NewStore(s.db.Conn(), loc)
	team := analytics.NewTeam([]analytics.Manager{{ID: "anna", Name: "Anna", Extensions: []string{"101", "103"}}})
	sla := 10 * time.Minute
	from := time.Date(2026, 10, 21, 0, 0, 0, 0, loc)
	periods := []analytics.Period{{From: from, To: from.AddDate(0, 0, streamDays+3)}}
	if s.checks%2 == 1 {
		day := from.AddDate(0, 0, 2+s.checks/2%(streamDays+1))
		periods = []analytics.Period{{From: day, To: day}}
	}
	sortRefusals := func(rows []analytics.RefusalRow) []analytics.RefusalRow {
		slices.SortFunc(rows, func(a, b analytics.RefusalRow) int {
			return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
		})
		return rows
	}
	for _, p := range periods {
		for _, q := range []struct {
			name      string
			fast, raw func() (any, int, error)
		}{
			{"missed calls",
				func() (any, int, error) { r, err := store.Missed(ctx, p, false, sla); return r, len(r), err },
				func() (any, int, error) { r, err := store.MissedRaw(ctx, p, false, sla); return r, len(r), err }},
			{"open missed calls",
				func() (any, int, error) { r, err := store.Missed(ctx, p, true, sla); return r, len(r), err },
				func() (any, int, error) { r, err := store.MissedRaw(ctx, p, true, sla); return r, len(r), err }},
			{"speed to lead",
				func() (any, int, error) { r, err := store.SpeedToLead(ctx, p, sla, team); return r, len(r), err },
				func() (any, int, error) { r, err := store.SpeedToLeadRaw(ctx, p, sla, team); return r, len(r), err }},
			{"repeat callers",
				func() (any, int, error) { r, err := store.RepeatCallers(ctx, p); return r, len(r), err },
				func() (any, int, error) { r, err := store.RepeatCallersRaw(ctx, p); return r, len(r), err }},
			{"refusals",
				func() (any, int, error) { r, err := store.Refusals(ctx, p); return sortRefusals(r), len(r), err },
				func() (any, int, error) { r, err := store.RefusalsRaw(ctx, p); return sortRefusals(r), len(r), err }},
		} {
			got, _, err := q.fast()
			if err != nil {
				s.t.Fatalf("%s: %s %s %v: %v", stage, q.name, zone, p, err)
			}
			want, n, err := q.raw()
			if err != nil {
				s.t.Fatalf("%s: %s (raw) %s %v: %v", stage, q.name, zone, p, err)
			}
			if s.followUpRows == nil {
				s.followUpRows = map[string]int{}
			}
			s.followUpRows[q.name] += n
			if !reflect.DeepEqual(got, want) {
				s.t.Errorf("%s: %s %s %s..%s:\n got %+v\nwant %+v", stage, q.name, zone, p.From.Format(time.DateOnly),
					p.To.Format(time.DateOnly), got, want)
			}
		}
	}
}

// checkTalkAgainstRaw compares TalkTime with TalkTimeRaw for the whole
// stream, with and without a manager filter, in two of the zones, and at
// every other check day by day in one of them (other zones at each check).
func (s *streamDB) checkTalkAgainstRaw(stage string) {
	s.t.Helper()
	ctx := context.Background()
	for i, zone := range streamZones {
		if i != s.checks%len(streamZones) && i != (s.checks+2)%len(streamZones) {
			continue
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			s.t.Fatal(err)
		}
		store := analytics.NewStore(s.db.Conn(), loc)
		from := time.Date(2026, 10, 22, 0, 0, 0, 0, loc)
		periods := []analytics.Period{{From: from, To: from.AddDate(0, 0, streamDays+1)}}
		if i == s.checks%len(streamZones) && s.checks%2 == 0 {
			for d := range streamDays + 2 {
				day := from.AddDate(0, 0, d)
				periods = append(periods, analytics.Period{From: day, To: day})
			}
		}
		for j, p := range periods {
			exts := [][]string{nil}
			if j == 0 {
				exts = append(exts, []string{"101", "103"})
			}
			for _, ext := range exts {
				got, err := store.TalkTime(ctx, p, ext)
				if err != nil {
					s.t.Fatalf("%s: TalkTime %s %v: %v", stage, zone, p, err)
				}
				want, err := store.TalkTimeRaw(ctx, p, ext)
				if err != nil {
					s.t.Fatalf("%s: TalkTimeRaw: %v", stage, err)
				}
				if len(want) == 0 && j == 0 {
					s.t.Fatalf("%s: no talk time at all: the stream is too thin to test anything", stage)
				}
				if !reflect.DeepEqual(got, want) {
					s.t.Errorf("%s: %s %s..%s %v:\n got %s\nwant %s", stage, zone, p.From.Format(time.DateOnly),
						p.To.Format(time.DateOnly), ext, fmtRows(got), fmtRows(want))
				}
			}
		}
	}
}

// checkFunnelAgainstRaw compares Sources with SourcesRaw over the stream
// and, at every other check, day by day, in one of the zones (another at
// each check), and the line sources of every phone with the calls view's.
func (s *streamDB) checkFunnelAgainstRaw(stage string) {
	s.t.Helper()
	ctx := context.Background()
	zone := streamZones[s.checks%len(streamZones)]
	loc, err := time.LoadLocation(zone)
	if err != nil {
		s.t.Fatal(err)
	}
	store := analytics.NewStore(s.db.Conn(), loc)
	from := time.Date(2026, 10, 21, 0, 0, 0, 0, loc)
	periods := []analytics.Period{{From: from, To: from.AddDate(0, 0, streamDays+3)}}
	if s.checks%2 == 0 {
		for d := range streamDays + 3 {
			day := from.AddDate(0, 0, d)
			periods = append(periods, analytics.Period{From: day, To: day})
		}
	}
	for i, p := range periods {
		got, err := store.Sources(ctx, p)
		if err != nil {
			s.t.Fatalf("%s: Sources %s %v: %v", stage, zone, p, err)
		}
		want, err := store.SourcesRaw(ctx, p)
		if err != nil {
			s.t.Fatalf("%s: SourcesRaw: %v", stage, err)
		}
		if len(want) == 0 && i == 0 {
			s.t.Fatalf("%s: no leads at all: the stream is too thin to test anything", stage)
		}
		if !reflect.DeepEqual(got, want) {
			s.t.Errorf("%s: sources %s %s..%s:\n got %+v\nwant %+v", stage, zone, p.From.Format(time.DateOnly),
				p.To.Format(time.DateOnly), got, want)
		}
		gotStatus, err := store.CallsByStatus(ctx, p)
		if err != nil {
			s.t.Fatalf("%s: CallsByStatus: %v", stage, err)
		}
		wantStatus, err := store.CallsByStatusRaw(ctx, p)
		if err != nil {
			s.t.Fatalf("%s: CallsByStatusRaw: %v", stage, err)
		}
		if len(wantStatus) == 0 && i == 0 {
			s.t.Fatalf("%s: no calls at all", stage)
		}
		if !reflect.DeepEqual(gotStatus, wantStatus) {
			s.t.Errorf("%s: calls by status %s %s..%s:\n got %+v\nwant %+v", stage, zone, p.From.Format(time.DateOnly),
				p.To.Format(time.DateOnly), gotStatus, wantStatus)
		}
	}
	phones := analytics.NewPhones(s.db.Conn())
	all := append(slices.Clone(phonePool[:len(phonePool)-1]), dealOnlyPhones...)
	got, err := phones.FirstLineSources(ctx, all)
	if err != nil {
		s.t.Fatalf("%s: FirstLineSources: %v", stage, err)
	}
	want, err := phones.FirstLineSourcesRaw(ctx, all)
	if err != nil {
		s.t.Fatalf("%s: FirstLineSourcesRaw: %v", stage, err)
	}
	if !reflect.DeepEqual(got, want) {
		s.t.Errorf("%s: line sources:\n got %v\nwant %v", stage, got, want)
	}
}

func fmtRows(rows []analytics.TalkRow) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "\n  %s %s %s %ds/%d", r.Day.Format(time.DateOnly), r.Extension, r.Category, r.Seconds, r.Calls)
	}
	return b.String()
}

// refresh runs one refresh. What it does depends on whether ClickHouse's
// clock has moved past the last cutoff, so only the first (there is no
// snapshot yet: always a rebuild) is asserted; the others are logged.
func refresh(t *testing.T, r *analytics.Rollup, want analytics.RefreshKind) {
	t.Helper()
	got, err := r.Refresh(context.Background())
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if want != "" && got != want {
		t.Fatalf("Refresh did %q, want %q", got, want)
	}
	t.Logf("refresh: %s", got)
}

// TestRollupMatchesRaw delivers random calls — partial events, each
// delivered up to three times, shuffled, in batches, many arriving after
// the snapshot that counted their call's earlier events, some days late,
// some moving the call to another client phone — grade history that
// arrives late too, and deals re-imported with other phones and stages,
// and checks after every step that TalkTime (snapshot plus changes),
// Sources and FirstLineSources (phone rollup plus changes) equal the
// straightforward queries over the calls view, in zones with DST changes
// and half- and quarter-hour offsets, talk time read from the rollup's day
// rows (the refresher's zone) or its quarter hours (the others): before
// any snapshot, after rebuilds, deltas, compaction, crashed refreshes,
// concurrent refreshers, a refresher keeping another zone, and everything
// stored arriving again (as a re-run of 0008's backfill). Calls end on the
// PBX's clock, on arrival (Gravitel's events), or both.
func TestRollupMatchesRaw(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 42))
			s := newStreamDB(t)
			var pending []call.Event
			for i := range 60 {
				pending = append(pending, streamCall(rng, []string{"generic", "zadarma", "gravitel"}[i%3], fmt.Sprintf("c%d", i))...)
			}
			// A client who called once and was never called back: the five
			// phones above call often enough to call every missed call back.
			at := streamStart.Add(30 * time.Hour)
			pending = append(pending, call.Event{Provider: "generic", CallID: "open", EventKey: "e0", ReceivedAt: at,
				Direction: call.DirectionInbound, StartedAt: at, EndedAt: at.Add(20 * time.Second), Status: call.StatusMissed,
				ClientPhone: "+79160000007", LinePhone: linePool[0]})
			var deliveries []call.Event
			for _, e := range pending {
				for range 1 + rng.IntN(3) {
					deliveries = append(deliveries, e)
				}
			}
			rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
			batches := split(rng, deliveries, 10)
			grades := split(rng, randomGrades(rng, 24), 10)
			deals := split(rng, randomDeals(rng, 30), 10)

			berlin, _ := time.LoadLocation("Europe/Berlin")
			kolkata, _ := time.LoadLocation("Asia/Kolkata")
			opts := analytics.RollupOptions{Zone: berlin, Margin: time.Nanosecond, RebuildEvery: -1, MaxChain: 3}
			r := analytics.NewRollup(s.db.Conn(), opts)

			// A third of the stream before the first snapshot, so that its
			// rebuild has several calls per phone to fold.
			const first = 3
			for i := range first {
				s.write(batches[i])
				s.grade(grades[i])
				s.deals(deals[i])
				s.checkAgainstRaw(fmt.Sprintf("batch %d, no snapshot", i))
			}
			settle(t, s.db)
			refresh(t, r, analytics.RefreshRebuild)
			s.checkAgainstRaw("after the first rebuild")
			for i := first; i < len(batches); i++ {
				s.write(batches[i])
				s.grade(grades[i])
				s.deals(deals[i])
				if i == first {
					s.clients()
				}
				s.checkAgainstRaw(fmt.Sprintf("batch %d before refresh", i))
				if i%3 != 0 {
					refresh(t, r, "")
					s.checkAgainstRaw(fmt.Sprintf("batch %d after refresh", i))
				}
				switch i {
				case 4:
					// A refresh that crashed after writing rows, and a marker whose
					// chain is broken: neither may count.
					s.exec("INSERT INTO talk_rollup (epoch, refresh, zone, bucket, manager, category, seconds, calls) " +
						"SELECT 1, 7, '', toDateTime('2026-10-24 10:00:00'), '101', 'A', 99999, 99")
					s.exec("INSERT INTO talk_refreshes (epoch, id, base, cutoff, zone, rebuilt, done_at) " +
						"SELECT 1, 8, 7, now() + 3600, '', now(), now()")
					s.exec("INSERT INTO fact_refreshes (generation, id, layout) SELECT generation, 8, layout FROM fact_refreshes LIMIT 1")
					s.checkAgainstRaw("after a crashed refresh")
				case 5:
					// A refresh that crashed after writing its call facts and phone
					// rollup rows, before its marker.
					if err := r.RefreshFactsOnly(context.Background()); err != nil {
						t.Fatal(err)
					}
					s.checkAgainstRaw("after a refresh that crashed after its facts")
				case 6:
					errs := make(chan error, 3)
					concurrently(3, func() {
						_, err := analytics.NewRollup(s.db.Conn(), opts).Refresh(context.Background())
						errs <- err
					})
					close(errs)
					for err := range errs {
						if err != nil {
							t.Fatalf("concurrent Refresh: %v", err)
						}
					}
					s.checkAgainstRaw("after concurrent refreshes")
				case 7:
					s.replayStored()
					s.checkAgainstRaw("after everything stored arrived again")
					// A rebuild by a refresher keeping another zone's days; the
					// next refreshes (Berlin's) compact the chain to theirs.
					refresh(t, analytics.NewRollup(s.db.Conn(), analytics.RollupOptions{
						Zone: kolkata, Margin: time.Nanosecond, RebuildEvery: time.Nanosecond}), "")
					s.checkAgainstRaw("after a second rebuild")
				}
			}
			// Grades alone since the snapshot: the re-graded phones' calls
			// and histories are read for themselves, not with changed calls.
			settle(t, s.db)
			refresh(t, r, "")
			s.grade(randomGrades(rng, 8))
			s.checkAgainstRaw("grades alone since the snapshot")
			for _, q := range []string{"missed calls", "open missed calls", "speed to lead", "repeat callers", "refusals"} {
				if s.followUpRows[q] == 0 {
					t.Errorf("%s: no rows at any check: the stream is too thin to test it", q)
				}
			}
		})
	}
}

func split[T any](rng *rand.Rand, xs []T, n int) [][]T {
	out := make([][]T, n)
	for _, x := range xs {
		i := rng.IntN(n)
		out[i] = append(out[i], x)
	}
	return out
}

func concurrently(n int, f func()) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(f)
	}
	wg.Wait()
}

// settle waits until ClickHouse's clock has passed every stored event by
// more than a second, so that a refresh now (its cutoff is a whole second,
// Margin before the clock) folds all of them into its snapshot rather than
// leaving them to the queries.
func settle(t *testing.T, db *warehouse.DB) {
	t.Helper()
	if err := poll.Until(context.Background(), time.Minute, 100*time.Millisecond,
		"ClickHouse's clock passed the stored events", func(ctx context.Context) (bool, error) {
			var done uint8
			err := db.Conn().QueryRow(ctx, "SELECT toUInt8(now() > (SELECT max(at) FROM calls_agg) + 1)").Scan(&done)
			return done == 1, err
		}); err != nil {
		t.Fatal(err)
	}
}

func (s *streamDB) exec(q string) {
	s.t.Helper()
	if err := s.db.Conn().Exec(context.Background(), q); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
}

// replayStored stores every event and grade again, as the backfill of
// migration 0008 replayed them (or an interrupted run of it, again): the
// views fold each row once more, with a later arrival time. (0008's own
// statements cannot run again since 0010 replaced its view: its replay
// view lacks the arrival-time end state.)
func (s *streamDB) replayStored() {
	s.t.Helper()
	s.exec(`INSERT INTO call_events (provider, call_id, event_key, received_at, direction, started_at, answered_at,
		ended_at, arrival_ended_at, client_phone, line_phone, line_source, manager, manager_rank, status, talk_seconds,
		recording_url, recording_ref, spool_seq)
	SELECT provider, call_id, event_key, received_at, direction, started_at, answered_at,
		ended_at, arrival_ended_at, client_phone, line_phone, line_source, manager, manager_rank, status, talk_seconds,
		recording_url, recording_ref, spool_seq
	FROM call_events`)
	s.exec(`INSERT INTO client_categories (phone, category, valid_from, origin, recorded_at)
	SELECT phone, category, valid_from, origin, recorded_at FROM client_categories`)
}

// TestRollupHeadReadsNewestLayout: the view rollup_head, which the
// dashboards read, follows the newest facts layout any refresher has
// written (migration 0018): a later snapshot of an older layout is not
// read, one of a newer layout is.
func TestRollupHeadReadsNewestLayout(t *testing.T) {
	s := newStreamDB(t)
	s.write(streamCall(rand.New(rand.NewPCG(3, 42)), "generic", "c1"))
	settle(t, s.db)
	refresh(t, analytics.NewRollup(s.db.Conn(), analytics.RollupOptions{Zone: time.UTC, Margin: time.Nanosecond}), analytics.RefreshRebuild)
	head := func() uint64 {
		t.Helper()
		var id uint64
		if err := s.db.Conn().QueryRow(context.Background(), "SELECT id FROM rollup_head").Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	ours := head()
	if ours == 0 {
		t.Fatal("rollup_head names no refresh after a rebuild")
	}
	later := func(id uint64, layout string) {
		s.exec(fmt.Sprintf("INSERT INTO talk_refreshes (epoch, id, base, cutoff, zone, rebuilt, done_at, chain) "+
			"SELECT %d, %d, %d, now() + 3600, '', now(), now(), [%d]", id, id, id, id))
		s.exec(fmt.Sprintf("INSERT INTO fact_refreshes (generation, id, layout) SELECT generation, %d, %s FROM fact_refreshes LIMIT 1",
			id, layout))
	}
	later(1000, "layout - 1") // an older callpulse, still refreshing
	if got := head(); got != ours {
		t.Errorf("rollup_head = %d after a later snapshot of an older layout, want %d", got, ours)
	}
	later(1001, "layout + 1") // a newer callpulse
	if got := head(); got != 1001 {
		t.Errorf("rollup_head = %d after a snapshot of a newer layout, want 1001", got)
	}
}
