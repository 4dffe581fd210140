package testenv

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples parses a /metrics body with Prometheus's own text parser into
// its samples by name and labels, written as in a query: name{a="x",b="y"}
// (labels sorted; a histogram as name_count, name_sum and
// name_bucket{le="…"}).
func Samples(body string) (map[string]float64, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	out := map[string]float64{}
	key := func(name string, labels []*dto.LabelPair, extra ...string) string {
		var ls []string
		for _, l := range labels {
			ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		ls = append(ls, extra...)
		if len(ls) == 0 {
			return name
		}
		slices.Sort(ls)
		return name + "{" + strings.Join(ls, ",") + "}"
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.Counter != nil:
				out[key(name, m.Label)] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key(name, m.Label)] = m.Gauge.GetValue()
			case m.Untyped != nil:
				out[key(name, m.Label)] = m.Untyped.GetValue()
			case m.Histogram != nil:
				h := m.Histogram
				out[key(name+"_count", m.Label)] = float64(h.GetSampleCount())
				out[key(name+"_sum", m.Label)] = h.GetSampleSum()
				for _, b := range h.Bucket {
					out[key(name+"_bucket", m.Label, fmt.Sprintf("le=%q", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)))] = float64(b.GetCumulativeCount())
				}
				out[key(name+"_bucket", m.Label, `le="+Inf"`)] = float64(h.GetSampleCount())
			}
		}
	}
	return out, nil
}
