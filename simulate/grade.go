package simulate

import (
	"math/rand/v2"
	"strings"
)

// grade is a client's category as callpulse will see it after import.
type grade uint8

const (
	gradeUnknown grade = iota
	gradeA
	gradeB
	gradeC
	gradeCount
)

// String returns the category as written in the clients CSV ("" for unknown).
func (g grade) String() string {
	switch g {
	case gradeA:
		return "A"
	case gradeB:
		return "B"
	case gradeC:
		return "C"
	}
	return ""
}

// clientGrade applies the importer's rule: an explicit category wins;
// otherwise A is need+budget+urgency, B is need+budget without urgency, C is
// no budget, and anything else is unknown. Clients never writes the one
// ambiguous combination (need and budget with urgency left empty), so the
// simulator and the importer agree on every generated client.
func clientGrade(c Client) grade {
	switch strings.ToUpper(strings.TrimSpace(c.Category)) {
	case "A":
		return gradeA
	case "B":
		return gradeB
	case "C":
		return gradeC
	}
	switch {
	case c.Budget == "no":
		return gradeC
	case c.Need == "yes" && c.Budget == "yes" && c.Urgency == "yes":
		return gradeA
	case c.Need == "yes" && c.Budget == "yes" && c.Urgency == "no":
		return gradeB
	}
	return gradeUnknown
}

// habit is how a manager splits calls with graded clients between A, B and C.
// All grades share one talk-time distribution, so the split of calls is, in
// expectation, the split of talk time the director sees.
type habit struct {
	name    string
	a, b, c float64 // weights; they need not sum to 1
}

// habits are handed out to managers in order, so the first three managers of
// any demo show the target, too much C and too much B.
var habits = []habit{
	{name: "on target", a: 80, b: 19, c: 1},
	{name: "too much C", a: 45, b: 20, c: 35},
	{name: "too much B", a: 30, b: 65, c: 5},
	{name: "close to target", a: 70, b: 25, c: 5},
	{name: "spread thin", a: 55, b: 30, c: 15},
}

// habitFor returns the habit of the i-th manager.
func habitFor(i int) habit { return habits[i%len(habits)] }

// unknownShare is the share of calls with known clients whose grade is
// unknown: the manager is still qualifying them.
const unknownShare = 0.10

// pick chooses the grade of the next client the manager talks to.
func (h habit) pick(rng *rand.Rand) grade {
	if rng.Float64() < unknownShare {
		return gradeUnknown
	}
	x := rng.Float64() * (h.a + h.b + h.c)
	switch {
	case x < h.a:
		return gradeA
	case x < h.a+h.b:
		return gradeB
	}
	return gradeC
}
