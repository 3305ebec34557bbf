package scoring

import (
	"reflect"
	"testing"
)

func TestAddRange(t *testing.T) {
	tests := []struct {
		name string
		rs   []blockRange
		add  blockRange
		want []blockRange
	}{
		{"first", nil, blockRange{3, 3}, []blockRange{{3, 3}}},
		{"joins the next block", []blockRange{{1, 2}}, blockRange{3, 3}, []blockRange{{1, 3}}},
		{"keeps a gap", []blockRange{{1, 2}}, blockRange{4, 4}, []blockRange{{1, 2}, {4, 4}}},
		{"before", []blockRange{{4, 5}}, blockRange{1, 2}, []blockRange{{1, 2}, {4, 5}}},
		{"fills a gap", []blockRange{{1, 2}, {4, 5}}, blockRange{3, 3}, []blockRange{{1, 5}}},
		{"covers several", []blockRange{{1, 1}, {3, 3}, {5, 5}, {9, 9}}, blockRange{2, 6}, []blockRange{{1, 6}, {9, 9}}},
		{"inside", []blockRange{{1, 9}}, blockRange{3, 4}, []blockRange{{1, 9}}},
	}
	for _, tt := range tests {
		if got := addRange(tt.rs, tt.add); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: addRange(%v, %v) = %v, want %v", tt.name, tt.rs, tt.add, got, tt.want)
		}
	}
}

// TestStale checks when a book's rows are no longer a view of the
// touches' parts, from parts alone: the cases ClickHouse cannot be made
// to produce in a test (block numbers used again after a TRUNCATE and a
// restart) with the rest.
func TestStale(t *testing.T) {
	read := bookState{
		covered:  map[string][]blockRange{"all": {{1, 6}}},
		mutation: 0,
		seen:     map[string]bool{"all_1_5_1": true, "all_6_6_0": true},
	}
	p := func(name string, min, max int64, level uint32, version uint64) part {
		return part{name: name, partition: "all", blocks: blockRange{min, max}, level: level, dataVersion: version}
	}
	tests := []struct {
		name  string
		parts []part
		want  bool
	}{
		{"unchanged", []part{p("all_1_5_1", 1, 5, 1, 1), p("all_6_6_0", 6, 6, 0, 6)}, false},
		{"merged", []part{p("all_1_6_2", 1, 6, 2, 1)}, false},
		{"a new insert", []part{p("all_1_6_2", 1, 6, 2, 1), p("all_7_7_0", 7, 7, 0, 7)}, false},
		{"new insert merged with read blocks", []part{p("all_1_7_2", 1, 7, 2, 1)}, false},
		{"blocks gone (TRUNCATE, DROP PARTITION)", []part{p("all_6_6_0", 6, 6, 0, 6)}, true},
		{"nothing left", nil, true},
		{"a mutation rewrote the parts", []part{p("all_1_5_1_8", 1, 5, 1, 8), p("all_6_6_0_8", 6, 6, 0, 8)}, true},
		{"block numbers used again", []part{p("all_1_5_1", 1, 5, 1, 1), p("all_6_6_0", 6, 6, 0, 6), p("all_2_2_0", 2, 2, 0, 2)}, true},
	}
	for _, tt := range tests {
		b := &touchBook{bookState: read}
		if got := b.stale(tt.parts); got != tt.want {
			t.Errorf("%s: stale = %v, want %v", tt.name, got, tt.want)
		}
	}
	// A mutation the rows reflect does not make them stale again.
	b := &touchBook{bookState: read}
	b.mutation = 8
	if b.stale([]part{p("all_1_6_2_8", 1, 6, 2, 8)}) {
		t.Error("a merge of parts a mutation the book read rewrote: stale, want not")
	}
}

// TestMutating checks that a mutation is seen to be under way from the
// parts alone: while some of the parts before it are rewritten and some
// not.
func TestMutating(t *testing.T) {
	p := func(name string, min, max int64, version uint64) part {
		return part{name: name, partition: "all", blocks: blockRange{min, max}, dataVersion: version}
	}
	tests := []struct {
		name  string
		parts []part
		want  bool
	}{
		{"no mutation", []part{p("all_1_5_1", 1, 5, 1), p("all_6_6_0", 6, 6, 6)}, false},
		{"half rewritten", []part{p("all_1_5_1_7", 1, 5, 7), p("all_6_6_0", 6, 6, 6)}, true},
		{"done", []part{p("all_1_5_1_7", 1, 5, 7), p("all_6_6_0_7", 6, 6, 7)}, false},
		{"done, then an insert", []part{p("all_1_5_1_7", 1, 5, 7), p("all_6_6_0_7", 6, 6, 7), p("all_8_8_0", 8, 8, 8)}, false},
		{"a second one half way", []part{p("all_1_5_1_9", 1, 5, 9), p("all_6_6_0_7", 6, 6, 7), p("all_8_8_0", 8, 8, 8)}, true},
	}
	for _, tt := range tests {
		if got := mutating(tt.parts); got != tt.want {
			t.Errorf("%s: mutating = %v, want %v", tt.name, got, tt.want)
		}
	}
}
