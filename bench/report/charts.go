package report

import (
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// palette colours systems consistently across charts.
var palette = map[string]color.Color{
	"syncgate":        color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"syncgate-inproc": color.RGBA{R: 0x6b, G: 0xae, B: 0xd6, A: 0xff},
	"node":            color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	"bare":            color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	"node-cluster":    color.RGBA{R: 0x98, G: 0xdf, B: 0x8a, A: 0xff},
	"centrifugo":      color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
}

// series is one system's bars, one value per group.
type series struct {
	name   string
	values []float64
}

// Charts draws the run's PNG charts (medians) into dir as PREFIX-*.png and returns their file
// names.
func Charts(run Run, dir, prefix string) ([]string, error) {
	var files []string
	for _, rc := range []struct {
		steps      int
		sum        []RateSummary
		name, what string
	}{
		{len(run.Rates), SummarizeRates(run.Rates), "rates", "Equal offered rates"},
		{len(run.MaxRate), SummarizeRates(run.MaxRate), "maxrate", "One core per server (ramp)"},
	} {
		if rc.steps == 0 {
			continue
		}
		fs, err := rateCharts(rc.sum, dir, prefix, rc.name, rc.what)
		files = append(files, fs...)
		if err != nil {
			return files, err
		}
	}
	add := func(name, title, ylabel string, groups []string, ss []series) error {
		if len(groups) == 0 || len(ss) == 0 {
			return nil
		}
		file := prefix + "-" + name + ".png"
		if err := barChart(filepath.Join(dir, file), title, ylabel, groups, ss); err != nil {
			return fmt.Errorf("report: chart %s: %w", name, err)
		}
		files = append(files, file)
		return nil
	}
	if len(run.Fanout) > 0 {
		sum := SummarizeFanout(run.Fanout)
		groups, get := fanoutGroups(sum)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		charts := []struct {
			name, title, ylabel string
			value               func(FanoutSummary) float64
		}{
			{"fanout-throughput", "Fan-out: deliveries per second (median)", "deliveries/s", func(s FanoutSummary) float64 { return s.DeliveriesPerSec }},
			{"fanout-cpu", "Fan-out: server CPU per delivery (median, lower is better)", "µs per delivery", func(s FanoutSummary) float64 { return s.CPUPerDel }},
			{"fanout-p50", "Fan-out: p50 latency, request sent → event received", "ms", func(s FanoutSummary) float64 { return ms(s.P50) }},
			{"fanout-p99", "Fan-out: p99 latency, request sent → event received", "ms", func(s FanoutSummary) float64 { return ms(s.P99) }},
		}
		for _, c := range charts {
			if err := add(c.name, c.title, c.ylabel, groups, get(c.value)); err != nil {
				return files, err
			}
		}
	}
	if len(run.Idle) > 0 {
		sum := SummarizeIdle(run.Idle)
		var groups []string
		idx := map[string]int{}
		var systems []string
		for _, s := range sum {
			g := fmt.Sprintf("%s, %d sockets", s.Transport, s.Sockets)
			if _, ok := idx[g]; !ok {
				idx[g] = len(groups)
				groups = append(groups, g)
			}
			if !slices.Contains(systems, s.System) {
				systems = append(systems, s.System)
			}
		}
		var ss []series
		for _, sys := range systems {
			v := make([]float64, len(groups))
			for _, s := range sum {
				if s.System == sys {
					v[idx[fmt.Sprintf("%s, %d sockets", s.Transport, s.Sockets)]] = s.RSSPerConn / 1024
				}
			}
			ss = append(ss, series{sys, v})
		}
		if err := add("idle-rss", "Idle memory: RSS growth per connection (median)", "KiB per connection", groups, ss); err != nil {
			return files, err
		}
	}
	return files, nil
}

// fanoutGroups names the fan-out sizes and returns a function building one series per system.
func fanoutGroups(sum []FanoutSummary) ([]string, func(func(FanoutSummary) float64) []series) {
	var groups, systems []string
	idx := map[[2]int]int{}
	for _, s := range sum {
		k := [2]int{s.Sockets, s.Events}
		if _, ok := idx[k]; !ok {
			idx[k] = len(groups)
			groups = append(groups, fmt.Sprintf("%d sockets × %d events", s.Sockets, s.Events))
		}
		if !slices.Contains(systems, s.System) {
			systems = append(systems, s.System)
		}
	}
	return groups, func(value func(FanoutSummary) float64) []series {
		var ss []series
		for _, sys := range systems {
			v := make([]float64, len(groups))
			for _, s := range sum {
				if s.System == sys {
					v[idx[[2]int{s.Sockets, s.Events}]] = value(s)
				}
			}
			ss = append(ss, series{sys, v})
		}
		return ss
	}
}

func barChart(path, title, ylabel string, groups []string, ss []series) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Y.Min = 0
	p.Legend.Top = true
	w := vg.Points(float64(min(40, 200/len(ss))))
	top := 0.0
	for _, s := range ss {
		top = max(top, slices.Max(s.values))
	}
	p.Y.Max = top * 1.25 // room for the legend
	for i, s := range ss {
		bars, err := plotter.NewBarChart(plotter.Values(s.values), w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		c, ok := palette[s.name]
		if !ok {
			c = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
		}
		bars.Color = c
		bars.Offset = w * vg.Length(float64(i)-float64(len(ss)-1)/2)
		p.Add(bars)
		p.Legend.Add(s.name, bars)
	}
	p.NominalX(groups...)
	return p.Save(vg.Length(220+180*len(groups))*vg.Points(1), 300, path)
}
