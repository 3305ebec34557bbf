package scoring

import (
	"cmp"
	"container/heap"
	"math"
	"math/bits"
	"slices"
	"time"
)

// The queue, the threshold, the count above it and the hot-lead list from
// a touchBook, by the package's definitions, as the SQL computes them
// (TestQueueMatchesRaw and TestBookFollowsTheTables hold both to QueueRaw
// and ThresholdRaw, TestHot the hot list to the SQL's).
//
// A pass reads the touches in the order they are kept, one after the
// other, and adds each to its lead's totals: 30–40 ms for a million
// touches, where following each lead's own list of touches, scattered
// over memory, took about twice as long.

// bookScorer scores the leads of a book with the scorer's points table;
// it is made under the book's lock and used only while it is held.
type bookScorer struct {
	b     *touchBook
	once  bool
	decay int64
	// points is the points of each action of the book (by its id in acts);
	// actions missing from the table score 0.
	points []int64
	// words is the uint64 words of a lead's set of actions (OncePerAction).
	words int
}

func (s *Scorer) bookScorer(b *touchBook) *bookScorer {
	bs := &bookScorer{b: b, once: s.opts.OncePerAction, decay: s.decaySeconds(),
		points: make([]int64, len(b.acts.strs)), words: (len(b.acts.strs) + 63) / 64}
	for i, a := range s.actions {
		if id, ok := b.acts.ids[a]; ok {
			bs.points[id] = s.points[i]
		}
	}
	return bs
}

// scores is every lead's score as of one time (per lead: a score as of a
// time of its own).
type scores struct {
	// last is the time of each lead's latest touch at or before the time;
	// math.MinInt64 for a lead without one, which has no score.
	last  []int64
	score []int64
	// acts is each lead's actions in the window, words per lead, for
	// OncePerAction.
	acts []uint64
}

func (bs *bookScorer) newScores() *scores {
	n := len(bs.b.leads)
	s := &scores{last: make([]int64, n), score: make([]int64, n)}
	for i := range s.last {
		s.last[i] = math.MinInt64
	}
	if bs.once {
		s.acts = make([]uint64, n*bs.words)
	}
	return s
}

// add counts touch t of lead li as of asOf: at or before it, and in the
// window for the score.
func (bs *bookScorer) add(s *scores, li int32, t *bookTouch, asOf int64) {
	if t.at > asOf {
		return
	}
	s.last[li] = max(s.last[li], t.at)
	if asOf-t.at >= bs.decay {
		return
	}
	if bs.once {
		s.acts[int(li)*bs.words+int(t.action/64)] |= 1 << (t.action % 64)
		return
	}
	s.score[li] += bs.points[t.action]
}

// finish turns OncePerAction's sets of actions into scores.
func (bs *bookScorer) finish(s *scores) {
	if !bs.once {
		return
	}
	for li := range s.score {
		var sum int64
		for w, word := range s.acts[li*bs.words : (li+1)*bs.words] {
			for word != 0 {
				sum += bs.points[w*64+bits.TrailingZeros64(word)]
				word &= word - 1
			}
		}
		s.score[li] = sum
	}
}

// scoresAt is every lead's score as of now.
func (bs *bookScorer) scoresAt(now int64) *scores {
	s := bs.newScores()
	for i := range bs.b.touches {
		bs.add(s, bs.b.leadOf[i], &bs.b.touches[i], now)
	}
	bs.finish(s)
	return s
}

// open says whether lead li is open: its phone has no won or lost deal.
func (bs *bookScorer) open(li int) bool {
	p := bs.b.leads[li].phone
	return int(p) >= len(bs.b.deals.closed) || !bs.b.deals.closed[p]
}

// rankedLead is a lead in the queue's order.
type rankedLead struct {
	lead        int32
	score, last int64
	phone, ref  string
}

// before says whether a comes before b in the queue: by score,
// descending, then by last touch, newest first, then by phone and ref.
func (a rankedLead) before(b rankedLead) bool {
	return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(b.last, a.last),
		cmp.Compare(a.phone, b.phone), cmp.Compare(a.ref, b.ref)) < 0
}

// worstFirst is a heap of the best leads so far, the last in queue order
// on top.
type worstFirst []rankedLead

func (h worstFirst) Len() int           { return len(h) }
func (h worstFirst) Less(i, j int) bool { return h[j].before(h[i]) }
func (h worstFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *worstFirst) Push(x any)        { *h = append(*h, x.(rankedLead)) }
func (h *worstFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// top is the limit hottest open leads with a touch at or before now, by
// their scores s as of now, in the queue's order, without AboveThreshold,
// and the utm sources of their earliest touches having one (as
// topLeadsSQL).
func (bs *bookScorer) top(s *scores, now int64, limit int) ([]Lead, []string) {
	b := bs.b
	h := make(worstFirst, 0, limit)
	for li, k := range b.leads {
		if s.last[li] == math.MinInt64 || !bs.open(li) {
			continue
		}
		score, last := s.score[li], s.last[li]
		if len(h) == limit {
			// Most leads lose to the last kept on numbers alone.
			if w := h[0]; score < w.score || (score == w.score && last < w.last) {
				continue
			}
		}
		r := rankedLead{lead: int32(li), score: score, last: last, phone: b.strs.str(k.phone), ref: b.strs.str(k.ref)}
		if len(h) < limit {
			heap.Push(&h, r)
		} else if r.before(h[0]) {
			h[0] = r
			heap.Fix(&h, 0)
		}
	}
	return bs.ranked(now, h)
}

// ranked sorts leads into the queue's order and returns them as Leads,
// without AboveThreshold, with their lead ids and the utm sources of their
// earliest touches having one, as of now (leads[i] is the i-th of
// ranked, sorted).
func (bs *bookScorer) ranked(now int64, ranked []rankedLead) ([]Lead, []string) {
	slices.SortFunc(ranked, func(a, b rankedLead) int {
		if a.before(b) {
			return -1
		}
		return 1
	})
	leads, utm := make([]Lead, len(ranked)), make([]string, len(ranked))
	rank := make([]int32, len(bs.b.leads)) // 1 + the lead's index in leads; 0 for leads not chosen
	for i, r := range ranked {
		rank[r.lead] = int32(i + 1)
		leads[i] = Lead{Phone: r.phone, Score: r.score, LastTouchAt: time.Unix(r.last, 0).UTC()}
	}
	bs.ids(now, rank, leads, utm)
	return leads, utm
}

// ids sets, for the leads given a rank (1 + index in leads), the lead id
// of its latest touch at or before now naming one and the utm source of
// its earliest having one (of touches at the same second, the larger lead
// id and the smaller source).
func (bs *bookScorer) ids(now int64, rank []int32, leads []Lead, utm []string) {
	idAt, utmAt := make([]int64, len(leads)), make([]int64, len(leads))
	for i := range bs.b.touches {
		t := &bs.b.touches[i]
		r := rank[bs.b.leadOf[i]] - 1
		if r < 0 || t.at > now {
			continue
		}
		if t.leadID != 0 {
			id, l := bs.b.strs.str(t.leadID), &leads[r]
			if l.LeadID == "" || t.at > idAt[r] || (t.at == idAt[r] && id > l.LeadID) {
				l.LeadID, idAt[r] = id, t.at
			}
		}
		if t.utm != 0 {
			u := bs.b.strs.str(t.utm)
			if utm[r] == "" || t.at < utmAt[r] || (t.at == utmAt[r] && u < utm[r]) {
				utm[r], utmAt[r] = u, t.at
			}
		}
	}
}

// threshold is the number of leads that converted in (from, now] with a
// touch at or before their conversion and the sum of their scores as of
// it (as thresholdRawSQL).
func (bs *bookScorer) threshold(from, now int64) (leads int, total int64) {
	b := bs.b
	const none = math.MinInt64
	converted := make([]int64, len(b.leads)) // each lead's conversion, or none
	for li := range converted {
		converted[li] = none
	}
	some := false
	for phone, closes := range b.deals.wonAt {
		li, ok := b.leadIdx[leadKey{phone: phone}]
		if !ok || phone == 0 {
			continue
		}
		for _, c := range closes {
			if c > from && c <= now && (converted[li] == none || c < converted[li]) {
				converted[li], some = c, true
			}
		}
	}
	if !some {
		return 0, 0
	}
	s := bs.newScores()
	for i := range b.touches {
		if li := b.leadOf[i]; converted[li] != none {
			bs.add(s, li, &b.touches[i], converted[li])
		}
	}
	bs.finish(s)
	for li, at := range converted {
		if at != none && s.last[li] != math.MinInt64 {
			leads++
			total += s.score[li]
		}
	}
	return leads, total
}

// above counts the open leads whose score s is at or above threshold.
func (bs *bookScorer) above(s *scores, threshold float64) uint64 {
	var n uint64
	for li := range bs.b.leads {
		if s.last[li] != math.MinInt64 && bs.open(li) && float64(s.score[li]) >= threshold {
			n++
		}
	}
	return n
}

// hot is the open leads with a touch at or before now whose score now is
// at or above threshold, with (withBefore) their scores as of before
// (counting only touches at or before now), in the queue's order (as
// hotSQL).
func (bs *bookScorer) hot(now, before int64, withBefore bool, threshold float64) []HotLead {
	b, sNow := bs.b, bs.scoresAt(now)
	var ranked []rankedLead
	for li, k := range b.leads {
		if sNow.last[li] == math.MinInt64 || !bs.open(li) || float64(sNow.score[li]) < threshold {
			continue
		}
		ranked = append(ranked, rankedLead{lead: int32(li), score: sNow.score[li], last: sNow.last[li],
			phone: b.strs.str(k.phone), ref: b.strs.str(k.ref)})
	}
	leads, _ := bs.ranked(now, ranked)
	var sBefore *scores
	if withBefore {
		// As of before, of the touches at or before now.
		sBefore = bs.newScores()
		for i := range b.touches {
			if t := &b.touches[i]; t.at <= now {
				bs.add(sBefore, b.leadOf[i], t, before)
			}
		}
		bs.finish(sBefore)
	}
	out := make([]HotLead, len(leads))
	for i, l := range leads {
		out[i] = HotLead{Phone: l.Phone, LeadID: l.LeadID, Score: l.Score, Threshold: threshold, LastTouchAt: l.LastTouchAt}
		if sBefore != nil {
			out[i].ScoreBefore = sBefore.score[ranked[i].lead]
		}
	}
	return out
}
