package simulate

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
)

// Client is one row of the clients CSV that `callpulse import clients` reads.
type Client struct {
	// Phone is a Russian mobile number in E.164 form (+79xxxxxxxxx).
	Phone string
	// Name is the person's or company's name as the CRM shows it.
	Name string
	// Category is "A", "B", "C" or empty; when empty the importer derives it
	// from Need, Budget and Urgency.
	Category string
	// Need, Budget and Urgency are "yes", "no" or empty (not asked yet).
	Need, Budget, Urgency string
	// Source is the ad source slug; when empty callpulse takes the source of
	// the line the client calls.
	Source string
	// Manager is the PBX extension of the client's manager.
	Manager string
}

// csvHeader is the exact header row of the clients CSV.
var csvHeader = []string{"phone", "name", "category", "need", "budget", "urgency", "source", "manager"}

// weighted is a value and how often it is drawn, relative to the others
// of its list (pickWeighted).
type weighted struct {
	value  string
	weight float64
}

// pickWeighted draws a value of ws with the odds of its weight.
func pickWeighted(rng *rand.Rand, ws []weighted) string {
	var total float64
	for _, w := range ws {
		total += w.weight
	}
	x := rng.Float64() * total
	for _, w := range ws {
		if x < w.weight {
			return w.value
		}
		x -= w.weight
	}
	return ws[len(ws)-1].value
}

// sources are the ad sources of the demo configuration, weighted by how
// many clients come from each.
var sources = []weighted{
	{"yandex_direct", 30},
	{"avito", 25},
	{"vk_ads", 20},
	{"seo", 15},
	{"referral", 10},
}

// Shares of the client base. The grade mix is 25% A, 35% B, 20% C and 20%
// not yet qualified.
const (
	shareA = 0.25
	shareB = 0.35
	shareC = 0.20
	// answersOnlyShare of graded clients have an empty category and only the
	// need/budget/urgency answers it is derived from.
	answersOnlyShare = 1.0 / 3
	// answersTooShare of the clients with a category also carry the answers.
	answersTooShare = 0.5
	// noSourceShare of clients leave their source to the line they call.
	noSourceShare = 0.25
)

// Answers in the need, budget and urgency columns.
const (
	answerYes  = "yes"
	answerNo   = "no"
	answerNone = "" // not asked yet
)

var anyAnswer = []string{answerYes, answerNo, answerNone}

// clientsStream separates the random stream of Clients from that of Run, so
// the same seed does not make the two correlate.
const clientsStream = 0x636c69656e7473 // "clients"

// Clients returns n clients generated deterministically from seed: Russian
// mobile numbers (all distinct) and names, about 25% A, 35% B, 20% C and 20%
// unknown. About a third of the graded clients have an empty category and
// carry only the need/budget/urgency answers it is derived from; a quarter
// have no source. Each is assigned one of managers (none if managers is
// empty).
func Clients(seed int64, n int, managers []string) []Client {
	rng := rand.New(rand.NewPCG(uint64(seed), clientsStream))
	used := make(map[string]bool, n)
	out := make([]Client, 0, max(n, 0))
	for range n {
		c := Client{Phone: uniqueMobile(rng, used), Name: randomName(rng)}
		setGrade(rng, &c, randomGrade(rng))
		if rng.Float64() >= noSourceShare {
			c.Source = pickWeighted(rng, sources)
		}
		if len(managers) > 0 {
			c.Manager = pick(rng, managers)
		}
		out = append(out, c)
	}
	return out
}

// uniqueMobile returns a mobile number not in used and records it there.
func uniqueMobile(rng *rand.Rand, used map[string]bool) string {
	for {
		// 38 codes × 10⁷ subscribers: collisions are rare for any client base
		// that fits in memory.
		if p := randomMobile(rng); !used[p] {
			used[p] = true
			return p
		}
	}
}

func randomGrade(rng *rand.Rand) grade {
	switch x := rng.Float64(); {
	case x < shareA:
		return gradeA
	case x < shareA+shareB:
		return gradeB
	case x < shareA+shareB+shareC:
		return gradeC
	}
	return gradeUnknown
}

// setGrade writes g into c as an explicit category, as the answers it is
// derived from, or both; unknown clients get answers that derive nothing.
func setGrade(rng *rand.Rand, c *Client, g grade) {
	switch g {
	case gradeA:
		c.Need, c.Budget, c.Urgency = answerYes, answerYes, answerYes
	case gradeB:
		c.Need, c.Budget, c.Urgency = answerYes, answerYes, answerNo
	case gradeC:
		c.Need, c.Budget, c.Urgency = pick(rng, anyAnswer), answerNo, pick(rng, anyAnswer)
	default:
		// Budget not asked yet, so neither A, B nor C can be derived.
		c.Need, c.Budget, c.Urgency = pick(rng, anyAnswer), answerNone, pick(rng, anyAnswer)
		return
	}
	if rng.Float64() < answersOnlyShare {
		return // the importer derives the category
	}
	c.Category = g.String()
	if rng.Float64() >= answersTooShare {
		c.Need, c.Budget, c.Urgency = answerNone, answerNone, answerNone
	}
}

// WriteClientsCSV writes clients as the CSV that `callpulse import clients`
// reads: the header row phone,name,category,need,budget,urgency,source,manager
// and one row per client.
func WriteClientsCSV(w io.Writer, clients []Client) error {
	return writeCSV(w, "clients", csvHeader, len(clients), func(i int) []string {
		c := clients[i]
		return []string{c.Phone, c.Name, c.Category, c.Need, c.Budget, c.Urgency, c.Source, c.Manager}
	})
}

// writeCSV writes a CSV of what: header, then row(i) for i in [0, n).
func writeCSV(w io.Writer, what string, header []string, n int, row func(i int) []string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write %s CSV header: %w", what, err)
	}
	for i := range n {
		if err := cw.Write(row(i)); err != nil {
			return fmt.Errorf("write %s CSV row %d: %w", what, i+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write %s CSV: %w", what, err)
	}
	return nil
}
