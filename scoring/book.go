package scoring

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// A touchBook keeps, in the daemon, every stored touch (the newest version
// of each key) grouped by lead, and the deal facts leads need, so that the
// queue, the threshold and the count above it are computed in Go from
// memory rather than by two aggregations over every touch per request
// (1.6–2.5 s at a million touches; docs/performance.md).
//
// It stays exact without reading everything again. Every INSERT makes a
// new data part of its own block numbers, and a merge makes a part of the
// blocks of the parts it merged; so the book reads only the parts whose
// blocks it has not read yet (ClickHouse prunes parts by _part), and takes
// each key's newest version, as FINAL does. A merged part of blocks all
// read holds nothing new and is skipped. What would make the rows read no
// longer the table's — a mutation, blocks gone (TRUNCATE, DROP PARTITION,
// the table dropped), block numbers used again (the table made again, or
// TRUNCATE and a restart) — makes it read everything again. The
// deals, a tenth of the size and changed only by imports and CRM pulls,
// are read again whole when their parts change.
//
// Before every use the book lists the two tables' active parts (one small
// query) and reads what changed, so a touch or deal stored before a
// request counts in it, exactly as with the SQL. On replicated tables a
// query may read another replica than the one whose parts were listed:
// there is no book, and the SQL does the work (usable is false).
type touchBook struct {
	// turn is held by the one use of the book at a time: a channel rather
	// than a mutex, so that a caller whose context ends stops waiting.
	turn chan struct{}
	// max is the most stored touch rows kept; with more the book is empty
	// and unusable.
	max int
	// reads counts the touch rows read from ClickHouse, and served says
	// whether the last use was served from the book: for tests.
	reads  int
	served bool
	bookState
}

// newTouchBook returns an empty book that keeps up to max touches.
func newTouchBook(max int) *touchBook {
	return &touchBook{max: max, turn: make(chan struct{}, 1)}
}

// bookState is what a book has read.
type bookState struct {
	// covered is the block ranges read, per partition, sorted and apart.
	covered map[string][]blockRange
	// mutation is the newest mutation the rows read reflect.
	mutation uint64
	// seen is the names of the active parts at the last sync.
	seen map[string]bool

	strs interner // phones, lead ids, utm sources
	acts interner // actions
	// keys finds a touch by its key's 128-bit hash (seeds): two keys of a
	// million share one with a chance of about 10⁻²⁷, and the random seeds
	// keep senders from making them.
	seeds   [2]maphash.Seed
	keys    map[[2]uint64]int32
	touches []bookTouch
	leadOf  []int32   // the lead of each touch, in leads
	leads   []leadKey // every lead any touch was ever under
	leadIdx map[leadKey]int32
	noPhone []int32 // the touches without a phone, whose lead the deals decide

	dealsKey string // the deals' parts the deal facts were read from
	deals    bookDeals
}

// bookTouch is one touch, its strings interned.
type bookTouch struct {
	at                 int64 // Unix seconds
	version            uint64
	phone, leadID, utm uint32 // in strs
	action             uint32 // in acts
}

// leadKey is a lead: its phone, or, for a lead id naming no deal with a
// phone, that lead id as ref (interned; 0 is "").
type leadKey struct{ phone, ref uint32 }

// bookDeals is what leads need of the newest version of every deal.
type bookDeals struct {
	// phoneOf is the phone of each deal id: that of its most recently
	// updated deal, of any origin (of two of one version, the larger
	// phone), interned.
	phoneOf map[string]uint32
	// closed says, by interned phone, whether the phone has a won or lost
	// deal; phones past its end have none.
	closed []bool
	// wonAt is the close times of the won deals of each phone (Unix).
	wonAt map[uint32][]int64
}

// blockRange is the blocks [min, max] of a partition.
type blockRange struct{ min, max int64 }

// interner gives each distinct string a small id; 0 is "".
type interner struct {
	ids  map[string]uint32
	strs []string
}

func (n *interner) id(s string) uint32 {
	if s == "" {
		return 0
	}
	if n.ids == nil {
		n.ids, n.strs = map[string]uint32{}, []string{""}
	}
	if id, ok := n.ids[s]; ok {
		return id
	}
	id := uint32(len(n.strs))
	n.ids[s] = id
	n.strs = append(n.strs, s)
	return id
}

func (n *interner) str(id uint32) string {
	if id == 0 {
		return ""
	}
	return n.strs[id]
}

// bookPartsSQL counts the replicated tables of the database and lists
// the active parts of touches and deals with their engines. It reads
// system.parts and system.replicas only, as the funnel's kept rows do
// (analytics.keptPartsSQL): under CI's load ClickHouse 18.16 answered
// queries on system.tables or system.mutations, which it builds from
// every table of every database, only after a minute.
const bookPartsSQL = `
SELECT
    (SELECT count() FROM system.replicas WHERE database = currentDatabase()),
    groupArray(table), groupArray(engine), groupArray(name), groupArray(partition_id),
    groupArray(min_block_number), groupArray(max_block_number), groupArray(level), groupArray(data_version),
    groupArray(rows), groupArray(toUInt32(modification_time))
FROM
(
    SELECT table, engine, name, partition_id, min_block_number, max_block_number, level, data_version, rows, modification_time
    FROM system.parts
    WHERE database = currentDatabase() AND table IN ('touches', 'deals') AND active
    ORDER BY table, partition_id, min_block_number
)`

// part is an active data part.
type part struct {
	name, partition string
	blocks          blockRange
	level           uint32
	dataVersion     uint64
	rows            uint64
}

// mutated says whether a mutation rewrote the part: its data version is
// that of the mutation rather than its first block.
func (p part) mutated() bool { return p.dataVersion != uint64(p.blocks.min) }

// partName is the form of the part names the book writes into SQL: the
// names come from the server, but are checked before they become text.
var partName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// errMoved is a part merged away between its listing and its read.
var errMoved = errors.New("touch parts merged while being read")

// use brings the book up to date with the tables and runs fn on it, under
// its lock; usable is false, and fn not run, when the book cannot say
// (tables that cannot have a book, more touches than it keeps, a mutation
// under way, parts that kept moving while being read): then the caller
// computes in SQL. Syncs are serialised: a request waits for the one
// before it to read what changed.
func (b *touchBook) use(ctx context.Context, conn driver.Conn, fn func()) (usable bool, err error) {
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return false, fmt.Errorf("wait for the book of touches: %w", ctx.Err())
	}
	defer func() { <-b.turn }()
	defer func() { b.served = usable && err == nil }()
	// A merge between listing and reading leaves a part's rows unread; the
	// read sees it, and the next listing has the merged part instead.
	for try := 0; ; try++ {
		usable, err = b.sync(ctx, conn)
		if !errors.Is(err, errMoved) {
			break
		}
		if try == 4 {
			return false, nil
		}
	}
	if err != nil || !usable {
		return usable, err
	}
	fn()
	return true, nil
}

// sync reads what changed since the last sync.
func (b *touchBook) sync(ctx context.Context, conn driver.Conn) (bool, error) {
	var replicated uint64
	var tables, engines, names, partitions []string
	var mins, maxs []int64
	var levels, mtimes []uint32
	var versions, rows []uint64
	if err := conn.QueryRow(ctx, bookPartsSQL).Scan(&replicated, &tables, &engines, &names, &partitions,
		&mins, &maxs, &levels, &versions, &rows, &mtimes); err != nil {
		return false, fmt.Errorf("list the parts of touches and deals: %w", err)
	}
	if replicated > 0 {
		return false, nil
	}
	for _, e := range engines {
		if e != "ReplacingMergeTree" {
			return false, nil
		}
	}
	var touchParts []part
	var dealParts strings.Builder
	for i, t := range tables {
		if t == "deals" {
			fmt.Fprintf(&dealParts, "%s@%d/%d,", names[i], mtimes[i], rows[i])
			continue
		}
		touchParts = append(touchParts, part{name: names[i], partition: partitions[i],
			blocks: blockRange{mins[i], maxs[i]}, level: levels[i], dataVersion: versions[i], rows: rows[i]})
	}
	if mutating(touchParts) {
		// A mutation rewrites the parts one by one: until it is done, the
		// parts are of two versions of the table. When it is, its parts'
		// newer data version empties the book (stale).
		return false, nil
	}
	stored := 0
	for _, p := range touchParts {
		stored += int(p.rows)
	}
	if stored > b.max {
		b.reset() // and let the memory go
		return false, nil
	}
	if b.stale(touchParts) {
		b.reset()
	}
	if dealParts.String() != b.dealsKey || b.deals.phoneOf == nil {
		d, err := readBookDeals(ctx, conn, &b.strs)
		if err != nil {
			return false, err
		}
		b.deals, b.dealsKey = d, dealParts.String()
		// The touches without a phone follow their lead id's deal (the
		// touches read next are filed by the new deals as they come).
		for _, i := range b.noPhone {
			b.place(i)
		}
	}
	if err := b.readTouches(ctx, conn, touchParts); err != nil {
		return false, err
	}
	b.seen = map[string]bool{}
	for _, p := range touchParts {
		b.seen[p.name] = true
	}
	return true, nil
}

// mutating says whether a mutation is rewriting the parts: one part has
// its data version, and a part of blocks before it has an older one. (A
// mutation that has rewritten no part yet leaves the table as it was.)
func mutating(parts []part) bool {
	var newest uint64
	for _, p := range parts {
		if p.mutated() {
			newest = max(newest, p.dataVersion)
		}
	}
	for _, p := range parts {
		if p.blocks.max < int64(newest) && p.dataVersion < newest {
			return true
		}
	}
	return false
}

// stale says whether the rows read are no longer a view of the touches:
// a block read is in no active part, a mutation the rows do not reflect
// rewrote one, or an insert's part (level 0) has blocks read under another
// name: block numbers used again (TRUNCATE, then a restart).
func (b *touchBook) stale(parts []part) bool {
	active := map[string][]blockRange{}
	for _, p := range parts {
		if p.mutated() && p.dataVersion > b.mutation {
			return true
		}
		if p.level == 0 && !b.seen[p.name] && within(b.covered[p.partition], p.blocks) {
			return true
		}
		active[p.partition] = addRange(active[p.partition], p.blocks)
	}
	for partition, ranges := range b.covered {
		for _, r := range ranges {
			if !within(active[partition], r) {
				return true
			}
		}
	}
	return false
}

// reset forgets everything read.
func (b *touchBook) reset() {
	b.bookState = bookState{}
}

// readTouches reads the parts of blocks not read yet and applies them.
func (b *touchBook) readTouches(ctx context.Context, conn driver.Conn, parts []part) error {
	want := map[string]uint64{}
	var unread []string
	total := 0
	for _, p := range parts {
		if within(b.covered[p.partition], p.blocks) {
			continue
		}
		if !partName.MatchString(p.name) {
			return fmt.Errorf("touches: unexpected part name %q", p.name)
		}
		want[p.name] = p.rows
		unread = append(unread, "'"+p.name+"'")
		total += int(p.rows)
	}
	if len(unread) == 0 {
		return nil
	}
	if b.keys == nil {
		// The first read is most of the touches: sized for them, the book
		// holds no room it will not use.
		b.seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
		b.keys, b.leadIdx = make(map[[2]uint64]int32, total), map[leadKey]int32{}
		b.touches, b.leadOf = make([]bookTouch, 0, total), make([]int32, 0, total)
	}
	// Part names are literals: ClickHouse 18.16 prunes parts by _part for
	// a list of literals, but returns nothing for IN (subquery).
	q := `SELECT _part, touch_key, version, phone, lead_id, action, at, utm_source
        FROM touches WHERE _part IN (` + strings.Join(unread, ", ") + `)`
	rs, err := conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("query new touches: %w", err)
	}
	defer rs.Close()
	// Rows are applied as they come: every row read was in an active part,
	// so it is a touch's newest version or older than one the book has or
	// will read, and applying it is harmless even if the read then fails
	// or falls short. Only a complete read marks the parts' blocks read.
	got := map[string]uint64{}
	for rs.Next() {
		var p, key, phone, leadID, action, utm string
		var version uint64
		var at time.Time
		if err := rs.Scan(&p, &key, &version, &phone, &leadID, &action, &at, &utm); err != nil {
			return fmt.Errorf("scan a touch: %w", err)
		}
		got[p]++
		b.reads++
		b.apply(key, bookTouch{at: at.Unix(), version: version, phone: b.strs.id(phone),
			leadID: b.strs.id(leadID), utm: b.strs.id(utm), action: b.acts.id(action)})
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("read new touches: %w", err)
	}
	for name, n := range want {
		if got[name] != n {
			return errMoved
		}
	}
	for _, p := range parts {
		if _, ok := want[p.name]; ok {
			if b.covered == nil {
				b.covered = map[string][]blockRange{}
			}
			b.covered[p.partition] = addRange(b.covered[p.partition], p.blocks)
		}
		if p.mutated() && p.dataVersion > b.mutation {
			b.mutation = p.dataVersion
		}
	}
	return nil
}

// apply stores a version of a touch: the newest version of a key wins; of
// two equal versions (two inserts in one nanosecond), the later applied,
// where FINAL keeps the later inserted.
func (b *touchBook) apply(key string, t bookTouch) {
	h := [2]uint64{maphash.String(b.seeds[0], key), maphash.String(b.seeds[1], key)}
	i, ok := b.keys[h]
	if !ok {
		i = int32(len(b.touches))
		b.keys[h] = i
		b.touches = append(b.touches, t)
		b.leadOf = append(b.leadOf, 0)
		if t.phone == 0 {
			b.noPhone = append(b.noPhone, i)
		}
		b.place(i)
		return
	}
	old := b.touches[i]
	if t.version < old.version {
		return
	}
	if old.phone == 0 && t.phone != 0 {
		b.noPhone = slices.DeleteFunc(b.noPhone, func(j int32) bool { return j == i })
	} else if old.phone != 0 && t.phone == 0 {
		b.noPhone = append(b.noPhone, i)
	}
	b.touches[i] = t
	b.place(i)
}

// lead is the lead of touch t: its phone, else the phone of the deal its
// lead id names, else its lead id.
func (b *touchBook) lead(t bookTouch) leadKey {
	if t.phone != 0 {
		return leadKey{phone: t.phone}
	}
	if p := b.deals.phoneOf[b.strs.str(t.leadID)]; p != 0 {
		return leadKey{phone: p}
	}
	return leadKey{ref: t.leadID}
}

// place files touch i under its lead.
func (b *touchBook) place(i int32) {
	k := b.lead(b.touches[i])
	li, ok := b.leadIdx[k]
	if !ok {
		li = int32(len(b.leads))
		b.leadIdx[k] = li
		b.leads = append(b.leads, k)
	}
	b.leadOf[i] = li
}

// bookDealsSQL is the newest version of every deal, as leads use them.
const bookDealsSQL = `SELECT deal_id, phone, toString(stage), closed_at, version FROM deals FINAL`

// readBookDeals reads the deal facts of the book.
func readBookDeals(ctx context.Context, conn driver.Conn, strs *interner) (bookDeals, error) {
	rs, err := conn.Query(ctx, bookDealsSQL)
	if err != nil {
		return bookDeals{}, fmt.Errorf("query deals for the call queue: %w", err)
	}
	defer rs.Close()
	d := bookDeals{phoneOf: map[string]uint32{}, wonAt: map[uint32][]int64{}}
	closed := map[uint32]bool{}
	type newest struct {
		version uint64
		phone   string
	}
	byID := map[string]newest{}
	for rs.Next() {
		var id, phone, stage string
		var closedAt time.Time
		var version uint64
		if err := rs.Scan(&id, &phone, &stage, &closedAt, &version); err != nil {
			return bookDeals{}, fmt.Errorf("scan a deal: %w", err)
		}
		if n, ok := byID[id]; !ok || version > n.version || (version == n.version && phone > n.phone) {
			byID[id] = newest{version, phone}
		}
		p := strs.id(phone)
		switch stage {
		case "won":
			closed[p] = true
			d.wonAt[p] = append(d.wonAt[p], closedAt.Unix())
		case "lost":
			closed[p] = true
		}
	}
	if err := rs.Err(); err != nil {
		return bookDeals{}, fmt.Errorf("read deals for the call queue: %w", err)
	}
	for id, n := range byID {
		d.phoneOf[id] = strs.id(n.phone)
	}
	d.closed = make([]bool, len(strs.strs))
	for p := range closed {
		d.closed[p] = true
	}
	return d, nil
}

// addRange adds r to the sorted, apart ranges rs, joining those it
// touches or overlaps.
func addRange(rs []blockRange, r blockRange) []blockRange {
	out := make([]blockRange, 0, len(rs)+1)
	i := 0
	for ; i < len(rs) && rs[i].max+1 < r.min; i++ {
		out = append(out, rs[i])
	}
	for ; i < len(rs) && rs[i].min <= r.max+1; i++ {
		r.min, r.max = min(r.min, rs[i].min), max(r.max, rs[i].max)
	}
	out = append(out, r)
	return append(out, rs[i:]...)
}

// within says whether the ranges rs hold every block of r.
func within(rs []blockRange, r blockRange) bool {
	for _, c := range rs {
		if c.min <= r.min && r.max <= c.max {
			return true
		}
	}
	return false
}
