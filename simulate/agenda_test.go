package simulate

import (
	"slices"
	"testing"
	"time"
)

func TestAgenda(t *testing.T) {
	t0 := testStart
	var a agenda
	for _, e := range []entry{
		{due: t0.Add(3 * time.Second), task: taskDeliver, snap: snapshot{CallID: "late"}},
		{due: t0, task: taskArrival},
		{due: t0.Add(time.Second), task: taskDeliver, snap: snapshot{CallID: "tie-1"}},
		{due: t0.Add(time.Second), task: taskCallback},
		{due: t0.Add(time.Second), task: taskDeliver, snap: snapshot{CallID: "tie-2"}},
	} {
		a.push(e)
	}

	t.Run("due order, then insertion order", func(t *testing.T) {
		b := agenda{h: slices.Clone(a.h), seq: a.seq}
		var got []string
		for b.len() > 0 {
			e := b.pop()
			got = append(got, e.due.Sub(t0).String()+" "+[]string{"deliver", "arrival", "callback"}[e.task]+" "+e.snap.CallID)
		}
		want := []string{"0s arrival ", "1s deliver tie-1", "1s callback ", "1s deliver tie-2", "3s deliver late"}
		if !slices.Equal(got, want) {
			t.Errorf("popped %q, want %q", got, want)
		}
	})

	t.Run("dropCalls keeps deliveries in order", func(t *testing.T) {
		a.dropCalls()
		var got []string
		for a.len() > 0 {
			got = append(got, a.pop().snap.CallID)
		}
		if want := []string{"tie-1", "tie-2", "late"}; !slices.Equal(got, want) {
			t.Errorf("popped %q, want %q", got, want)
		}
	})
}
