package faults

import (
	"context"
	"time"
)

// redeliveryScenario: every webhook of every call is delivered three
// times, all in one shuffled order, so that a call's final snapshot often
// arrives before its first and copies of one webhook race each other.
func redeliveryScenario() Scenario {
	return Scenario{
		Name:  "redelivery",
		About: "each webhook delivered three times, shuffled",
		Run: func(ctx context.Context, e *Env) error {
			var list []Delivery
			for _, c := range e.NewCalls(e.Pick(1000, 200)) {
				for range 3 {
					list = append(list, Delivery{c, 0}, Delivery{c, 1})
				}
			}
			e.Rand.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
			return e.Send(ctx, list, 300)
		},
	}
}

// clockSkewScenario: the PBX's clock is off the host's by minutes to a
// month either way, and it writes its times in several UTC offsets. The
// calls must be stored with the PBX's times as given and pushed to the CRM
// all the same (the settle delay runs on the host's clock).
func clockSkewScenario() Scenario {
	return Scenario{
		Name:  "clock-skew",
		About: "PBX clock off the host's by -30 days to +30 days, times in several UTC offsets",
		Run: func(ctx context.Context, e *Env) error {
			e.Traffic.Skews = []time.Duration{-30 * 24 * time.Hour, -26 * time.Hour, -2 * time.Hour, -5 * time.Minute,
				5 * time.Minute, 2 * time.Hour, 26 * time.Hour, 30 * 24 * time.Hour}
			e.Traffic.Zones = []*time.Location{time.UTC, moscow, time.FixedZone("-05:00", -5*60*60), time.FixedZone("+05:45", 5*60*60+45*60)}
			var list []Delivery
			for i, c := range e.NewCalls(e.Pick(1000, 200)) {
				if i%2 == 0 {
					list = append(list, Delivery{c, 0}, Delivery{c, 1})
				} else {
					list = append(list, Delivery{c, 1}, Delivery{c, 0}) // the end first
				}
			}
			return e.Send(ctx, list, 300)
		},
	}
}
