package report

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// rateCharts draws, for an equal-rate sweep or the max-rate ramps, CPU per delivery and p99
// against the offered rate, one line per system (medians per rate). A rate a system did not
// keep up with is drawn with a cross instead of a dot.
func rateCharts(sum []RateSummary, dir, prefix, name, what string) ([]string, error) {
	if len(sum) == 0 {
		return nil, nil
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	charts := []struct {
		file, title, ylabel string
		value               func(RateSummary) float64
		log                 bool
	}{
		{name + "-cpu", what + ": server CPU per delivery vs offered rate (lower is better)", "µs of CPU per delivery", func(s RateSummary) float64 { return s.CPUPerDel }, false},
		{name + "-p99", what + ": p99 latency vs offered rate (log scale; × = did not keep up)", "p99, ms", func(s RateSummary) float64 { return ms(s.P99) }, true},
	}
	var files []string
	for _, c := range charts {
		file := prefix + "-" + c.file + ".png"
		if err := lineChart(filepath.Join(dir, file), c.title, c.ylabel, sum, c.value, c.log); err != nil {
			return files, fmt.Errorf("report: chart %s: %w", c.file, err)
		}
		files = append(files, file)
	}
	return files, nil
}

func lineChart(path, title, ylabel string, sum []RateSummary, value func(RateSummary) float64, logY bool) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "offered deliveries per second"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.Left = true
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = ticks125{}
	} else {
		p.Y.Min = 0
	}
	var systems []string
	for _, s := range sum {
		if len(systems) == 0 || systems[len(systems)-1] != s.System {
			systems = append(systems, s.System)
		}
	}
	for i, sys := range systems {
		var all, missed plotter.XYs
		for _, s := range sum {
			if s.System != sys {
				continue
			}
			v := value(s)
			if logY {
				v = math.Max(v, 0.01)
			}
			pt := plotter.XY{X: s.Offered, Y: v}
			all = append(all, pt)
			if !s.KeptUp() {
				missed = append(missed, pt)
			}
		}
		c := colorOf(sys, i)
		line, points, err := plotter.NewLinePoints(all)
		if err != nil {
			return err
		}
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		points.Shape = draw.CircleGlyph{}
		p.Add(line, points)
		p.Legend.Add(sys, line, points)
		if len(missed) > 0 {
			sc, err := plotter.NewScatter(missed)
			if err != nil {
				return err
			}
			sc.Shape, sc.Color, sc.Radius = draw.CrossGlyph{}, color.Black, vg.Points(5)
			p.Add(sc)
		}
	}
	return p.Save(720, 420, path)
}

// colorOf is the system's palette colour, or a fallback by position.
func colorOf(system string, i int) color.Color {
	if c, ok := palette[system]; ok {
		return c
	}
	extra := []color.Color{color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}}
	return extra[i%len(extra)]
}

// ticks125 labels a log axis at 1, 2 and 5 × each power of ten, so a range within one
// decade still has labels.
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo && v <= hi {
				out = append(out, plot.Tick{Value: v, Label: strconvG(v)})
			}
		}
	}
	return out
}

func strconvG(v float64) string { return fmt.Sprintf("%g", v) }
