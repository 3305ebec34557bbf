package simulate

import (
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// Deal is one row of the deals CSV that `callpulse import deals` reads:
// what a CRM export of the client base's deals would hold.
type Deal struct {
	ID    string
	Phone string // the client's, E.164
	// Stage is "open", "won" or "lost".
	Stage string
	// Amount is the deal's budget in whole roubles.
	Amount int64
	// LossReason is why a lost deal was lost, as a Russian CRM words it;
	// empty for open and won deals.
	LossReason string
	CreatedAt  time.Time
	// ClosedAt is when a won or lost deal closed; zero while open.
	ClosedAt time.Time
	// Source is the ad source the CRM credits; mostly empty, as most CRMs
	// leave it to call tracking.
	Source string
	// Manager is the client's manager's PBX extension.
	Manager string
}

// Deal stages as the CSV spells them.
const (
	stageOpen = "open"
	stageWon  = "won"
	stageLost = "lost"
)

// dealOdds is how likely a client of a grade is to have a deal, how
// likely that deal is won or lost (the rest stay open), and its budget in
// roubles: A clients buy more often and more, C clients mostly walk away.
type dealOdds struct {
	has, won, lost       float64
	minAmount, maxAmount int64
}

var oddsByGrade = [gradeCount]dealOdds{
	gradeA:       {has: 0.70, won: 0.45, lost: 0.20, minAmount: 150_000, maxAmount: 900_000},
	gradeB:       {has: 0.50, won: 0.25, lost: 0.30, minAmount: 50_000, maxAmount: 400_000},
	gradeC:       {has: 0.30, won: 0.05, lost: 0.80, minAmount: 10_000, maxAmount: 60_000},
	gradeUnknown: {has: 0.15, won: 0.05, lost: 0.35, minAmount: 20_000, maxAmount: 200_000},
}

// lossReasons are the refusal reasons of lost deals, weighted per grade:
// clients without a budget mostly say so.
var lossReasons = []struct {
	text   string
	weight [gradeCount]float64
}{
	{"Дорого", [gradeCount]float64{gradeA: 2, gradeB: 4, gradeC: 4, gradeUnknown: 3}},
	{"Выбрали конкурента", [gradeCount]float64{gradeA: 4, gradeB: 3, gradeC: 1, gradeUnknown: 2}},
	{"Нет бюджета", [gradeCount]float64{gradeA: 0, gradeB: 1, gradeC: 6, gradeUnknown: 2}},
	{"Не дозвонились", [gradeCount]float64{gradeA: 1, gradeB: 1, gradeC: 1, gradeUnknown: 3}},
	{"Неактуально", [gradeCount]float64{gradeA: 1, gradeB: 2, gradeC: 2, gradeUnknown: 2}},
}

// crmSourceShare of deals carry the CRM's own source (the client's).
const crmSourceShare = 0.2

// dealsStream separates the random stream of Deals from those of Clients
// and Run.
const dealsStream = 0x6465616c73 // "deals"

// Deals returns the deals of clients, generated deterministically from seed:
// about 70% of A clients have one, 50% of B, 30% of C and 15% of the
// ungraded, won, lost or still open with odds by grade, created in [from,
// now) and, when won or lost, closed by now. Deal ids are "sim-" and the
// client's index, so importing them again updates the same deals.
func Deals(seed int64, clients []Client, from, now time.Time) []Deal {
	rng := rand.New(rand.NewPCG(uint64(seed), dealsStream))
	span := now.Sub(from)
	var out []Deal
	for i, c := range clients {
		g := clientGrade(c)
		odds := oddsByGrade[g]
		// Every client draws the same numbers whether or not it gets a deal,
		// so that one client's deal does not depend on the others'.
		has, stage, amount, created, closed, crm, reason :=
			rng.Float64(), rng.Float64(), rng.Int64N(odds.maxAmount-odds.minAmount+1), rng.Float64(),
			rng.Float64(), rng.Float64(), rng.Float64()
		if has >= odds.has || span <= 0 {
			continue
		}
		d := Deal{
			ID: "sim-" + strconv.Itoa(i), Phone: c.Phone, Stage: stageOpen,
			Amount:    odds.minAmount + amount/1000*1000, // budgets in whole thousands
			CreatedAt: from.Add(time.Duration(created * float64(span))).Truncate(time.Second),
			Manager:   c.Manager,
		}
		switch {
		case stage < odds.won:
			d.Stage = stageWon
		case stage < odds.won+odds.lost:
			d.Stage, d.LossReason = stageLost, lossReason(g, reason)
		}
		if d.Stage != stageOpen {
			d.ClosedAt = d.CreatedAt.Add(time.Duration(closed * float64(now.Sub(d.CreatedAt)))).Truncate(time.Second)
		}
		if crm < crmSourceShare {
			d.Source = c.Source
		}
		out = append(out, d)
	}
	return out
}

// lossReason picks a reason for a lost deal of a client of grade g; x is
// uniform in [0, 1).
func lossReason(g grade, x float64) string {
	var total float64
	for _, r := range lossReasons {
		total += r.weight[g]
	}
	x *= total
	for _, r := range lossReasons {
		if x < r.weight[g] {
			return r.text
		}
		x -= r.weight[g]
	}
	return lossReasons[len(lossReasons)-1].text
}

// dealsHeader is the header row of the deals CSV.
var dealsHeader = []string{"deal_id", "phone", "stage", "amount", "loss_reason", "created_at", "closed_at", "source",
	"manager"}

// WriteDealsCSV writes deals as the CSV that `callpulse import deals` reads,
// times in RFC 3339 with their offset.
func WriteDealsCSV(w io.Writer, deals []Deal) error {
	return writeCSV(w, "deals", dealsHeader, len(deals), func(i int) []string {
		d := deals[i]
		closed := ""
		if !d.ClosedAt.IsZero() {
			closed = d.ClosedAt.Format(time.RFC3339)
		}
		return []string{d.ID, d.Phone, d.Stage, strconv.FormatInt(d.Amount, 10), d.LossReason,
			d.CreatedAt.Format(time.RFC3339), closed, d.Source, d.Manager}
	})
}
