package importer

import (
	"fmt"
	"io"
	"regexp"

	"github.com/callpulse/callpulse/client"
)

// ClientColumns are the columns of a clients file; only phone is required.
var ClientColumns = []string{"phone", "name", "category", "need", "budget", "urgency", "source", "manager"}

// Normalizer turns a phone number into E.164.
type Normalizer interface {
	Normalize(string) (string, error)
}

var sourceSlug = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)

// ReadClients parses and checks a clients file. The category comes from the
// category column, or, where it is empty, is derived from need, budget and
// urgency (client.Derive). Phones are normalised; a phone that appears twice
// (in any spelling) is an error. On any problem it returns a *FileError
// listing every bad row.
func ReadClients(in io.Reader, norm Normalizer) ([]client.Client, error) {
	t, err := readTable(in, ClientColumns, []string{"phone"})
	if err != nil {
		return nil, err
	}
	var (
		out    []client.Client
		bad    []RowError
		seenAt = map[string]int{}
	)
	for _, r := range t.rows {
		c, errs := parseClient(t, r, norm)
		if len(errs) > 0 {
			bad = append(bad, errs...)
			continue
		}
		if first, dup := seenAt[c.Phone]; dup {
			bad = append(bad, RowError{Line: r.line, Column: "phone", Msg: fmt.Sprintf("same client as line %d", first)})
			continue
		}
		seenAt[c.Phone] = r.line
		out = append(out, c)
	}
	if len(bad) > 0 {
		return nil, &FileError{Rows: bad}
	}
	return out, nil
}

func parseClient(t *table, r row, norm Normalizer) (client.Client, []RowError) {
	var bad []RowError
	fail := func(col string, err error) { bad = append(bad, RowError{Line: r.line, Column: col, Msg: err.Error()}) }
	var c client.Client
	var err error
	if c.Phone, err = norm.Normalize(t.get(r, "phone")); err != nil {
		fail("phone", err)
	}
	c.Name = t.get(r, "name")
	if c.Category, err = client.ParseCategory(t.get(r, "category")); err != nil {
		fail("category", err)
	}
	flags := []struct {
		col string
		dst *client.Flag
	}{{"need", &c.Need}, {"budget", &c.Budget}, {"urgency", &c.Urgency}}
	for _, f := range flags {
		if *f.dst, err = client.ParseFlag(t.get(r, f.col)); err != nil {
			fail(f.col, err)
		}
	}
	if c.Category == client.CategoryUnknown {
		c.Category = client.Derive(c.Need, c.Budget, c.Urgency)
	}
	if c.Source = t.get(r, "source"); c.Source != "" && !sourceSlug.MatchString(c.Source) {
		fail("source", fmt.Errorf("%q: want lowercase letters, digits, _ . - (at most 64)", c.Source))
	}
	c.Manager = t.get(r, "manager")
	if len(c.Name) > 256 || len(c.Manager) > 64 {
		fail("name", fmt.Errorf("too long"))
	}
	return c, bad
}
