package faults

import (
	"context"
	"net/http"
	"time"
)

// crmScenario: calls are sent in rounds, and before each round the amoCRM
// emulator is scripted with its faults, which the daemon's next requests
// meet: a storm of ten 503s or ten 429s with Retry-After, then 500s, 502s,
// slow answers (2 s) and connection resets in random order — resets
// before the CRM applied the request and after it (the client never hears
// that it succeeded, and must not create a second lead).
func crmScenario() Scenario {
	return Scenario{
		Name:  "crm-faults",
		About: "amoCRM answers 503/429 storms, 5xx, slow answers and connection resets",
		Run: func(ctx context.Context, e *Env) error {
			rounds, perRound := e.Pick(12, 3), e.Pick(80, 60)
			faults := 0
			for r := range rounds {
				faults += scriptCRMFaults(e, r)
				var list []Delivery
				for _, c := range e.NewCalls(perRound) {
					list = append(list, Delivery{c, 0}, Delivery{c, 1})
				}
				if err := e.Send(ctx, list, 200); err != nil {
					return err
				}
			}
			err := waitFor(ctx, 2*time.Minute, "the scripted CRM faults used up", func(context.Context) (bool, error) {
				return e.CRM.Scripted() == 0, nil
			})
			e.Check(err == nil, "all %d scripted CRM faults met a request of the daemon", faults)
			var requests, resets, throttled, failed int
			for _, r := range e.CRM.Log() {
				requests++
				switch {
				case r.Reset:
					resets++
				case r.Status == http.StatusTooManyRequests:
					throttled++
				case r.Status >= 500:
					failed++
				}
			}
			e.Note("by then the daemon had made %d CRM requests: %d answered 5xx, %d answered 429, %d reset", requests, failed, throttled, resets)
			return nil
		},
	}
}

// scriptCRMFaults queues round r of faults and returns how many.
func scriptCRMFaults(e *Env, r int) int {
	storm := http.StatusServiceUnavailable
	if r%2 == 1 {
		storm = http.StatusTooManyRequests
	}
	e.CRM.FailNext(10, storm, time.Second)
	singles := []func(){
		func() { e.CRM.FailNext(1, http.StatusInternalServerError, 0) },
		func() { e.CRM.FailNext(1, http.StatusBadGateway, 0) },
		func() { e.CRM.SlowNext(1, 2*time.Second) },
		func() { e.CRM.ResetNext(1, false) },
		func() { e.CRM.ResetNext(1, true) },
	}
	for range 3 {
		e.Rand.Shuffle(len(singles), func(i, j int) { singles[i], singles[j] = singles[j], singles[i] })
		for _, f := range singles {
			f()
		}
	}
	return 10 + 3*len(singles)
}
