package analytics

import (
	"sort"

	"github.com/callpulse/callpulse/client"
)

// Manager is a sales manager as configured: a slug id, a display name and
// the PBX extensions they use.
type Manager struct {
	ID         string
	Name       string
	Extensions []string
}

// Team resolves PBX extensions to managers.
type Team struct {
	byExt map[string]Manager
	byID  map[string]Manager
}

// NewTeam indexes the configured managers.
func NewTeam(managers []Manager) *Team {
	t := &Team{byExt: map[string]Manager{}, byID: map[string]Manager{}}
	for _, m := range managers {
		t.byID[m.ID] = m
		for _, e := range m.Extensions {
			t.byExt[e] = m
		}
	}
	return t
}

// ByExtension returns the manager using a PBX extension. An extension not in
// the config is reported as its own manager, with the extension as id and
// an empty name, so no talk time goes missing.
func (t *Team) ByExtension(ext string) (Manager, bool) {
	if m, ok := t.byExt[ext]; ok {
		return m, true
	}
	return Manager{ID: ext, Extensions: []string{ext}}, false
}

// Lookup finds a manager by id or extension.
func (t *Team) Lookup(idOrExt string) (Manager, bool) {
	if m, ok := t.byID[idOrExt]; ok {
		return m, true
	}
	m, ok := t.byExt[idOrExt]
	return m, ok
}

// IDs returns the configured manager ids, sorted.
func (t *Team) IDs() []string {
	ids := make([]string, 0, len(t.byID))
	for id := range t.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Targets are the wanted shares of talk time per category (A, B, C).
type Targets map[client.Category]float64
