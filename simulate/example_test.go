package simulate_test

import (
	"log"
	"os"

	"github.com/callpulse/callpulse/simulate"
)

func ExampleWriteClientsCSV() {
	clients := simulate.Clients(10, 5, []string{"101", "102", "103"})
	if err := simulate.WriteClientsCSV(os.Stdout, clients); err != nil {
		log.Fatal(err)
	}
	// Output:
	// phone,name,category,need,budget,urgency,source,manager
	// +79529771209,Анна Смирнова,C,,no,,seo,103
	// +79681814905,Александр Козлов,A,yes,yes,yes,,103
	// +79643483513,Анна Захарова,,,,yes,,101
	// +79636367593,Елена Морозова,,no,,,avito,102
	// +79091480030,Ирина Петрова,,yes,yes,no,,101
}
