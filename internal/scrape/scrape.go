// Package scrape reads a Prometheus /metrics page into one value per
// series, for the tools that watch a daemon (make bench, make faults).
package scrape

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics scrapes url and returns series → value, each series written as
// client_golang writes it in the text format: name{label="value",...} in
// the page's label order (le and quantile last), or the bare name.
// Histograms and summaries give their _sum, _count and _bucket{le=...} or
// {quantile=...} series.
func Metrics(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: HTTP %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := m.GetLabel()
			switch {
			case m.Gauge != nil:
				out[series(name, labels)] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[series(name, labels)] = m.GetCounter().GetValue()
			case m.Untyped != nil:
				out[series(name, labels)] = m.GetUntyped().GetValue()
			case m.Histogram != nil:
				h := m.GetHistogram()
				out[series(name+"_sum", labels)] = h.GetSampleSum()
				out[series(name+"_count", labels)] = float64(h.GetSampleCount())
				for _, b := range h.GetBucket() {
					out[series(name+"_bucket", labels, "le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64))] = float64(b.GetCumulativeCount())
				}
			case m.Summary != nil:
				s := m.GetSummary()
				out[series(name+"_sum", labels)] = s.GetSampleSum()
				out[series(name+"_count", labels)] = float64(s.GetSampleCount())
				for _, q := range s.GetQuantile() {
					out[series(name, labels, "quantile", strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64))] = q.GetValue()
				}
			}
		}
	}
	return out, nil
}

// series writes name{labels}; extra is one more label name and value (le,
// quantile), written last, or nothing.
func series(name string, labels []*dto.LabelPair, extra ...string) string {
	pairs := make([]string, 0, len(labels)+1)
	for _, l := range labels {
		pairs = append(pairs, l.GetName()+"="+strconv.Quote(l.GetValue()))
	}
	if len(extra) == 2 {
		pairs = append(pairs, extra[0]+"="+strconv.Quote(extra[1]))
	}
	if len(pairs) == 0 {
		return name
	}
	return name + "{" + strings.Join(pairs, ",") + "}"
}
