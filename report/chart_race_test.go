package report

import (
	"bytes"
	"image/png"
	"sync"
	"testing"
)

// TestChartsRenderConcurrently: reports for several recipients (or two
// schedulers) render at once; the charts must not share font state. Run
// with -race, as make test does.
func TestChartsRenderConcurrently(t *testing.T) {
	c := barChart{Max: 100, Rows: []barRow{
		{Label: "Алиса Смирнова", Bold: true, Segments: []segment{{Value: 80}}, Note: "80 %"},
		{Label: "Борис Кузнецов", Segments: []segment{{Value: 40}}, Note: "40 %"},
	}}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			b, err := c.PNG()
			if err == nil {
				_, err = png.Decode(bytes.NewReader(b))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
