package simulate

import (
	"container/heap"
	"time"
)

// task is what happens at an agenda entry.
type task uint8

const (
	taskDeliver  task = iota // post snap
	taskArrival              // start the next fresh call
	taskCallback             // return the missed call
)

// entry is one thing the simulation will do at a given time.
type entry struct {
	due    time.Time
	seq    uint64 // insertion order, to break ties deterministically
	task   task
	snap   snapshot    // for taskDeliver
	missed plannedCall // for taskCallback
}

// agenda is a queue of entries ordered by due time, then insertion order.
// Its order does not depend on the clock, which is what keeps the simulated
// traffic reproducible.
type agenda struct {
	h   entryHeap
	seq uint64
}

func (a *agenda) push(e entry) {
	a.seq++
	e.seq = a.seq
	heap.Push(&a.h, e)
}

// peek returns the earliest entry without removing it.
func (a *agenda) peek() (entry, bool) {
	if len(a.h) == 0 {
		return entry{}, false
	}
	return a.h[0], true
}

// pop removes and returns the earliest entry; the agenda must not be empty.
func (a *agenda) pop() entry { return heap.Pop(&a.h).(entry) }

// dropCalls removes every entry that would start a call, leaving deliveries.
func (a *agenda) dropCalls() {
	kept := a.h[:0]
	for _, e := range a.h {
		if e.task == taskDeliver {
			kept = append(kept, e)
		}
	}
	clear(a.h[len(kept):])
	a.h = kept
	heap.Init(&a.h)
}

func (a *agenda) len() int { return len(a.h) }

type entryHeap []entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h entryHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *entryHeap) Push(x any)   { *h = append(*h, x.(entry)) }
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = entry{}
	*h = old[:len(old)-1]
	return e
}
