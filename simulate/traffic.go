package simulate

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/callpulse/callpulse/call"
)

// Shape of the traffic.
const (
	newLeadShare     = 0.15 // calls from numbers nobody has seen before
	inboundShare     = 0.45 // of calls with known clients
	inboundAnswered  = 0.70
	outboundAnswered = 0.60
	callbackShare    = 0.65 // missed calls that the manager returns
	callbackAnswered = 0.80
	// Outbound calls that are not answered: the manager gives up waiting,
	// the line is busy, or the call fails (the rest).
	cancelledShare = 0.55
	busyShare      = 0.30
	ownClientShare = 0.80 // calls with the manager's own clients
	recordingShare = 0.80 // answered calls with a recording
	// reversedShare of answered calls, the only ones with two snapshots, have
	// them delivered in reverse order: about 5% of all calls.
	reversedShare = 0.08
)

// Durations, in seconds.
const (
	talkMedian   = 180  // log-normal median
	talkSigma    = 0.85 // log-normal σ: about 1% of calls last over 20 minutes
	talkMin      = 5
	talkMax      = 30 * 60
	ringMin      = 3
	ringMax      = 30
	callbackMin  = 2 * 60
	callbackMax  = 90 * 60
	lateSnapshot = 20 // most seconds a reversed call's answer snapshot is late
)

// plannedCall is one simulated call with its whole future: what the PBX will
// report about it and when.
type plannedCall struct {
	id        string
	direction call.Direction
	status    call.Status
	client    string // E.164
	line      string
	manager   string
	started   time.Time
	answered  time.Time // zero unless answered
	ended     time.Time
	recording string
	// late, if not zero, delivers the answer snapshot this long after the
	// final one instead of before it.
	late time.Duration
}

// talk returns how long the client and the manager talked.
func (c plannedCall) talk() time.Duration {
	if c.answered.IsZero() {
		return 0
	}
	return c.ended.Sub(c.answered)
}

// generator plans calls. It owns the random stream of the traffic, so the
// same seed and start time always produce the same calls however fast they
// are delivered.
type generator struct {
	rng      *rand.Rand
	loc      *time.Location
	prefix   string // call id prefix, unique per run
	managers []string
	habits   []habit // habits[i] is the habit of managers[i]
	lines    []string
	clients  clientPool
	phones   map[string]bool // every number in use, so new leads are new
	seq      int
	recBase  string // base URL of recordings
}

func newGenerator(rng *rand.Rand, o Options, prefix string) *generator {
	recBase := o.RecordingBaseURL
	if recBase == "" {
		recBase = "https://pbx.example"
	}
	g := &generator{
		recBase:  recBase,
		rng:      rng,
		loc:      o.Location,
		prefix:   prefix,
		managers: o.Managers,
		habits:   make([]habit, len(o.Managers)),
		lines:    o.Lines,
		clients:  newClientPool(o.Clients),
		phones:   make(map[string]bool, len(o.Clients)),
	}
	for i := range o.Managers {
		g.habits[i] = habitFor(i)
	}
	for _, c := range o.Clients {
		g.phones[c.Phone] = true
	}
	return g
}

// arrival plans a fresh call starting at t.
func (g *generator) arrival(t time.Time) plannedCall {
	m := g.rng.IntN(len(g.managers))
	c := plannedCall{manager: g.managers[m], direction: call.DirectionOutbound}
	phone, known := "", false
	if g.rng.Float64() >= newLeadShare {
		phone, known = g.clients.pick(g.rng, c.manager, g.habits[m].pick(g.rng))
	}
	if !known {
		phone = uniqueMobile(g.rng, g.phones)
		c.direction = call.DirectionInbound // new leads find us through the ads
	} else if g.rng.Float64() < inboundShare {
		c.direction = call.DirectionInbound
	}
	c.client = phone
	answered := outboundAnswered
	if c.direction == call.DirectionInbound {
		answered = inboundAnswered
	}
	g.plan(&c, t, answered)
	return c
}

// callBack plans the manager's outbound call, starting at t, returning the
// missed call m. Clients who called are easier to reach than cold ones.
func (g *generator) callBack(m plannedCall, t time.Time) plannedCall {
	c := plannedCall{direction: call.DirectionOutbound, client: m.client, manager: m.manager}
	g.plan(&c, t, callbackAnswered)
	return c
}

// callbackAt reports whether the manager returns c, a call they missed, and
// when: a few minutes to an hour and a half after it ended.
func (g *generator) callbackAt(c plannedCall) (time.Time, bool) {
	if c.status != call.StatusMissed || g.rng.Float64() >= callbackShare {
		return time.Time{}, false
	}
	return c.ended.Add(g.seconds(callbackMin, callbackMax)), true
}

// plan fills in the id, line, outcome and times of c, which starts at t and
// is answered with probability answered.
func (g *generator) plan(c *plannedCall, t time.Time, answered float64) {
	g.seq++
	c.id = g.prefix + "-" + strconv.Itoa(g.seq)
	c.line = g.lineOf(c.client)
	c.started = t.Truncate(time.Second).In(g.loc)

	switch {
	case g.rng.Float64() < answered:
		c.status = call.StatusAnswered
		c.answered = c.started.Add(g.seconds(ringMin, ringMax))
		c.ended = c.answered.Add(g.talk())
		if g.rng.Float64() < recordingShare {
			c.recording = g.recBase + "/rec/" + c.id + ".wav"
		}
		if g.rng.Float64() < reversedShare {
			c.late = g.seconds(1, lateSnapshot)
		}
	case c.direction == call.DirectionInbound:
		c.status = call.StatusMissed // the caller gave up
		c.ended = c.started.Add(g.seconds(ringMin, ringMax))
	default:
		switch x := g.rng.Float64(); {
		case x < cancelledShare:
			c.status = call.StatusCancelled
			c.ended = c.started.Add(g.seconds(10, ringMax))
		case x < cancelledShare+busyShare:
			c.status = call.StatusBusy
			c.ended = c.started.Add(g.seconds(1, 5))
		default:
			c.status = call.StatusFailed
			c.ended = c.started.Add(g.seconds(0, 2))
		}
	}
}

// talk returns a log-normal talk time: median three minutes, long tail.
func (g *generator) talk() time.Duration {
	s := math.Exp(math.Log(talkMedian) + talkSigma*g.rng.NormFloat64())
	return time.Duration(min(max(math.Round(s), talkMin), talkMax)) * time.Second
}

// seconds returns a whole number of seconds uniformly in [lo, hi].
func (g *generator) seconds(lo, hi int) time.Duration {
	return time.Duration(lo+g.rng.IntN(hi-lo+1)) * time.Second
}

// lineOf returns the line a client calls, and is called from: always the
// same one, the number from the ad the client saw.
func (g *generator) lineOf(phone string) string {
	h := fnv.New32a()
	h.Write([]byte(phone))
	return g.lines[h.Sum32()%uint32(len(g.lines))]
}

// clientPool indexes known clients by grade and by manager.
type clientPool struct {
	all     []string
	byGrade [gradeCount][]string
	owned   map[string]*[gradeCount][]string // manager → grade → phones
}

func newClientPool(clients []Client) clientPool {
	p := clientPool{owned: make(map[string]*[gradeCount][]string)}
	for _, c := range clients {
		g := clientGrade(c)
		p.all = append(p.all, c.Phone)
		p.byGrade[g] = append(p.byGrade[g], c.Phone)
		own := p.owned[c.Manager]
		if own == nil {
			own = new([gradeCount][]string)
			p.owned[c.Manager] = own
		}
		own[g] = append(own[g], c.Phone)
	}
	return p
}

// pick returns a client of grade g for manager, usually one of the manager's
// own; it falls back to any client if there is none of that grade, and
// reports false if there are no clients at all.
func (p *clientPool) pick(rng *rand.Rand, manager string, g grade) (string, bool) {
	if own := p.owned[manager]; own != nil && len(own[g]) > 0 && rng.Float64() < ownClientShare {
		return pick(rng, own[g]), true
	}
	if len(p.byGrade[g]) > 0 {
		return pick(rng, p.byGrade[g]), true
	}
	if len(p.all) > 0 {
		return pick(rng, p.all), true
	}
	return "", false
}
