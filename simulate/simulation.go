package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"time"
)

// Delivery behaviour.
const (
	// duplicateShare of posts are sent a second time, as a PBX does when it
	// misses the response.
	duplicateShare = 0.05
	// catchUpLag: a snapshot more overdue than this is being replayed, and is
	// posted in a batch with others when the batch dice say so.
	catchUpLag = time.Second
	// singleShare of posts made while catching up carry one object anyway.
	singleShare = 0.4
	// batchMax is the most snapshots in one array.
	batchMax = 25
	// progressEvery calls, progress is logged at info.
	progressEvery = 100
)

// Random streams of a run, so that delivery decisions (batches, duplicates)
// do not change the traffic itself.
const (
	trafficStream  = 1
	deliveryStream = 2
)

// simulation is the state of one Run. It is used by one goroutine.
type simulation struct {
	o        Options
	log      *slog.Logger
	gen      *generator
	arrivals *arrivals
	agenda   agenda
	drng     *rand.Rand // delivery decisions
	poster   poster
	stats    Stats
}

func newSimulation(o Options) *simulation {
	start := o.Now()
	trng := rand.New(rand.NewPCG(uint64(o.Seed), trafficStream))
	run := fmt.Sprintf("sim%d-%s", o.Seed, start.UTC().Format("20060102T150405"))
	s := &simulation{
		o:        o,
		log:      o.Logger.With("run", run),
		gen:      newGenerator(trng, o, run),
		arrivals: newArrivals(trng, o.Location, len(o.Managers), start.Add(-o.Backfill), start, o.Rate),
		drng:     rand.New(rand.NewPCG(uint64(o.Seed), deliveryStream)),
	}
	endpoint, _ := url.JoinPath(o.URL, "webhooks/generic") // o.URL is validated
	s.poster = poster{
		client:   o.HTTP,
		endpoint: endpoint,
		token:    o.Token,
		unit:     "snapshots",
		now:      o.Now,
		sleep:    o.Sleep,
		log:      s.log,
		stats:    &s.stats,
	}
	s.poster.accepted = &s.stats.Snapshots
	return s
}

// run works through the agenda until it is empty or ctx is done, sleeping
// until each entry is due.
func (s *simulation) run(ctx context.Context) Stats {
	s.log.Info("simulation starting", "backfill", s.o.Backfill, "rate", s.o.Rate, "calls", s.o.Calls,
		"managers", len(s.o.Managers), "lines", len(s.o.Lines), "clients", len(s.o.Clients))
	for i, m := range s.o.Managers {
		s.log.Info("manager habit", "manager", m, "habit", habitFor(i).name)
	}
	if len(s.o.Touches) > 0 {
		if s.postTouches(ctx, s.o.Touches) != nil {
			s.log.Info("simulation stopped", "stats", s.stats)
			return s.stats
		}
		s.log.Info("touches posted", "touches", s.stats.Touches)
	}
	s.agenda.push(entry{due: s.arrivals.next(), task: taskArrival})
	live := s.o.Backfill == 0
	for s.agenda.len() > 0 && ctx.Err() == nil {
		e, _ := s.agenda.peek()
		now := s.o.Now()
		if wait := e.due.Sub(now); wait > 0 {
			if !live {
				live = true
				s.log.Info("backfill replayed, going live", "stats", s.stats)
			}
			if s.o.Sleep(ctx, wait) != nil {
				break
			}
			continue
		}
		s.agenda.pop()
		if e.task != taskDeliver {
			s.begin(e)
			continue
		}
		if s.deliver(ctx, e, now) != nil {
			break
		}
	}
	s.log.Info("simulation stopped", "stats", s.stats)
	return s.stats
}

// full reports whether the run has started all the calls it was asked for.
func (s *simulation) full() bool {
	return s.o.Calls > 0 && s.stats.Calls >= int64(s.o.Calls)
}

// begin starts the call of an arrival or callback entry and schedules what
// follows from it.
func (s *simulation) begin(e entry) {
	var c plannedCall
	switch e.task {
	case taskArrival:
		c = s.gen.arrival(e.due)
	case taskCallback:
		c = s.gen.callBack(e.missed, e.due)
		s.stats.Callbacks++
	}
	s.stats.Calls++
	if c.late > 0 {
		s.stats.OutOfOrder++
	}
	for _, d := range c.deliveries() {
		s.agenda.push(entry{due: d.due, task: taskDeliver, snap: d.snap})
	}
	s.log.Debug("call", "call_id", c.id, "direction", c.direction, "status", c.status,
		"manager", c.manager, "talk", c.talk())
	if s.stats.Calls%progressEvery == 0 {
		s.log.Info("progress", "stats", s.stats)
	}

	if s.full() {
		s.agenda.dropCalls()
		return
	}
	if at, ok := s.gen.callbackAt(c); ok {
		s.agenda.push(entry{due: at, task: taskCallback, missed: c})
	}
	if e.task == taskArrival {
		s.agenda.push(entry{due: s.arrivals.next(), task: taskArrival})
	}
}

// deliver posts the snapshot of first, which is due. When replaying the past
// it usually posts an array of first and the snapshots due after it,
// starting the calls that begin in between.
func (s *simulation) deliver(ctx context.Context, first entry, now time.Time) error {
	snaps := []snapshot{first.snap}
	batch := now.Sub(first.due) > catchUpLag && s.drng.Float64() >= singleShare
	if batch {
		for limit := 2 + s.drng.IntN(batchMax-1); len(snaps) < limit; {
			e, ok := s.agenda.peek()
			if !ok || e.due.After(now) {
				break
			}
			s.agenda.pop()
			if e.task != taskDeliver {
				s.begin(e)
				continue
			}
			snaps = append(snaps, e.snap)
		}
	}

	var body []byte
	var err error
	if batch {
		body, err = json.Marshal(snaps)
	} else {
		body, err = json.Marshal(snaps[0])
	}
	if err != nil { // only for times beyond year 9999
		s.stats.Dropped++
		s.log.Error("cannot encode snapshots", "err", err)
		return nil
	}

	if err := s.poster.post(ctx, body, len(snaps)); err != nil {
		return err
	}
	if s.drng.Float64() < duplicateShare {
		s.stats.Duplicates++
		return s.poster.post(ctx, body, len(snaps))
	}
	return nil
}
