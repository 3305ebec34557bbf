package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Charts are horizontal bar charts drawn with image/draw and the Go fonts
// (golang.org/x/image/font/gofont, BSD-3-Clause, embedded in the binary).
// The Go fonts cover WGL4, so Cyrillic renders without any system font;
// they lack the rouble sign, which charts therefore never print. Images are
// drawn at twice the size they are shown at, for high-density screens.

const (
	chartScale   = 2   // device pixels per CSS pixel
	chartWidth   = 600 // CSS pixels, as shown in the e-mail
	rowHeight    = 28
	barHeight    = 18
	labelWidth   = 150
	chartPadding = 10
	fontSize     = 12
)

var (
	colorA        = color.RGBA{0x2e, 0x7d, 0x32, 0xff}
	colorB        = color.RGBA{0x15, 0x65, 0xc0, 0xff}
	colorC        = color.RGBA{0xef, 0x6c, 0x00, 0xff}
	colorUnknown  = color.RGBA{0x9e, 0x9e, 0x9e, 0xff}
	colorLight    = color.RGBA{0xbb, 0xde, 0xfb, 0xff}
	colorMid      = color.RGBA{0x42, 0x8b, 0xe0, 0xff}
	colorDark     = color.RGBA{0x0d, 0x3c, 0x8a, 0xff}
	colorRest     = color.RGBA{0xe6, 0xe6, 0xe6, 0xff}
	colorGrid     = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	colorText     = color.RGBA{0x21, 0x21, 0x21, 0xff}
	colorMarker   = color.RGBA{0xc6, 0x28, 0x28, 0xff}
	colorOnBar    = color.RGBA{0xff, 0xff, 0xff, 0xff}
	colorNoCalls  = color.RGBA{0x75, 0x75, 0x75, 0xff}
	colorWithin   = color.RGBA{0x43, 0xa0, 0x47, 0xff}
	colorBackdrop = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// barChart is a horizontal bar chart: one bar per row, scaled to Max.
type barChart struct {
	Rows []barRow
	Max  float64
	// Nested draws each row's segments from zero, each over the one before
	// (a funnel: leads ⊇ reached ⊇ won); otherwise segments are stacked
	// end to end.
	Nested bool
	// Marker, if positive, draws a dashed line at that value (a target).
	Marker float64
	// Ticks labels the axis under the bars.
	Ticks  []tick
	Legend []legendItem
}

type barRow struct {
	Label    string
	Bold     bool
	Segments []segment
	// Note is printed after the bar (or in place of an empty one).
	Note string
}

type segment struct {
	Value float64
	Color color.RGBA
	// Text is printed on the segment when it fits.
	Text string
}

type tick struct {
	Value float64
	Label string
}

type legendItem struct {
	Color color.RGBA
	Label string
}

// fonts are the embedded chart fonts (regular, bold), parsed once. A parsed
// *sfnt.Font may be shared; a font.Face may not (it keeps glyph buffers), so
// every render makes its own faces: two reports rendered at once (two
// recipients, two schedulers) must not share one.
var fonts = sync.OnceValues(func() ([2]*opentype.Font, error) {
	var out [2]*opentype.Font
	for i, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
		f, err := opentype.Parse(ttf)
		if err != nil {
			return out, fmt.Errorf("parse embedded font: %w", err)
		}
		out[i] = f
	}
	return out, nil
})

// faces returns new faces of the chart fonts at the chart's scale, for one
// render.
func faces() ([2]font.Face, error) {
	var out [2]font.Face
	fs, err := fonts()
	if err != nil {
		return out, err
	}
	for i, f := range fs {
		if out[i], err = opentype.NewFace(f, &opentype.FaceOptions{Size: fontSize * chartScale, DPI: 72, Hinting: font.HintingFull}); err != nil {
			return out, fmt.Errorf("load embedded font: %w", err)
		}
	}
	return out, nil
}

// Size is the chart's size in CSS pixels.
func (c barChart) Size() (w, h int) {
	h = chartPadding*2 + len(c.Rows)*rowHeight
	if len(c.Ticks) > 0 {
		h += rowHeight
	}
	if len(c.Legend) > 0 {
		h += rowHeight
	}
	return chartWidth, h
}

// PNG renders the chart.
func (c barChart) PNG() ([]byte, error) {
	fs, err := faces()
	if err != nil {
		return nil, err
	}
	regular, bold := fs[0], fs[1]
	w, h := c.Size()
	img := image.NewRGBA(image.Rect(0, 0, w*chartScale, h*chartScale))
	draw.Draw(img, img.Bounds(), image.NewUniform(colorBackdrop), image.Point{}, draw.Src)
	const noteWidth = 70
	x0 := chartPadding + labelWidth
	plot := w - x0 - chartPadding - noteWidth
	xOf := func(v float64) int {
		if c.Max <= 0 {
			return x0
		}
		return x0 + int(math.Round(math.Min(v/c.Max, 1)*float64(plot)))
	}
	top, bottom := chartPadding, chartPadding+len(c.Rows)*rowHeight
	for _, t := range c.Ticks {
		x := xOf(t.Value)
		fill(img, x, top, x+1, bottom, colorGrid)
		text(img, regular, t.Label, x-width(regular, t.Label)/2, bottom+rowHeight-9, colorText)
	}
	for i, r := range c.Rows {
		y := top + i*rowHeight + (rowHeight-barHeight)/2
		face := regular
		if r.Bold {
			face = bold
		}
		text(img, face, ellipsis(face, r.Label, labelWidth-8), chartPadding, y+barHeight-4, colorText)
		start, end := 0.0, 0.0
		for _, s := range r.Segments {
			if !c.Nested {
				start, end = end, end+s.Value
			} else {
				start, end = 0, s.Value
			}
			xa, xb := xOf(start), xOf(end)
			fill(img, xa, y, xb, y+barHeight, s.Color)
			if s.Text != "" && width(regular, s.Text)+6 <= xb-xa {
				on := colorOnBar
				if s.Color == colorLight || s.Color == colorRest {
					on = colorText
				}
				tx := xa + (xb-xa-width(regular, s.Text))/2
				if c.Nested {
					tx = xb - width(regular, s.Text) - 4
				}
				text(img, regular, s.Text, tx, y+barHeight-4, on)
			}
		}
		if r.Note != "" {
			text(img, regular, r.Note, xOf(barEnd(r, c.Nested))+6, y+barHeight-4, colorNoCalls)
		}
	}
	if c.Marker > 0 {
		x := xOf(c.Marker)
		for y := top; y < bottom; y += 6 {
			fill(img, x-1, y, x+1, min(y+3, bottom), colorMarker)
		}
	}
	if len(c.Legend) > 0 {
		x, y := x0, h-chartPadding-rowHeight/2+5
		for _, l := range c.Legend {
			fill(img, x, y-11, x+12, y+1, l.Color)
			text(img, regular, l.Label, x+16, y, colorText)
			x += 16 + width(regular, l.Label) + 18
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode chart: %w", err)
	}
	return buf.Bytes(), nil
}

// barEnd is where a row's bar ends, in chart units.
func barEnd(r barRow, nested bool) float64 {
	var end float64
	for _, s := range r.Segments {
		if nested {
			end = math.Max(end, s.Value)
		} else {
			end += s.Value
		}
	}
	return end
}

// fill paints a rectangle given in CSS pixels.
func fill(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	r := image.Rect(x0*chartScale, y0*chartScale, x1*chartScale, y1*chartScale)
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// text draws s with its baseline at (x, y) CSS pixels.
func text(img *image.RGBA, face font.Face, s string, x, y int, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face,
		Dot: fixed.P(x*chartScale, y*chartScale)}
	d.DrawString(s)
}

// width is the advance of s in CSS pixels.
func width(face font.Face, s string) int {
	return font.MeasureString(face, s).Ceil() / chartScale
}

// ellipsis shortens s to fit max CSS pixels.
func ellipsis(face font.Face, s string, max int) string {
	if width(face, s) <= max {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && width(face, string(r)+"…") > max {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// shareTicks are the axis labels of a chart of shares.
func shareTicks(f format) []tick {
	var ts []tick
	for _, v := range []float64{0, 0.25, 0.5, 0.75, 1} {
		ts = append(ts, tick{Value: v, Label: f.Dec(v*100, 0) + "%"})
	}
	return ts
}

// countTicks are up to five round axis labels from 0 to at least max.
func countTicks(f format, max float64) ([]tick, float64) {
	if max <= 0 {
		max = 1
	}
	step := math.Pow(10, math.Floor(math.Log10(max/4)))
	for _, m := range []float64{1, 2, 5, 10} {
		if max/(step*m) <= 4 {
			step *= m
			break
		}
	}
	top := math.Ceil(max/step) * step
	var ts []tick
	for v := 0.0; v <= top+step/2; v += step {
		ts = append(ts, tick{Value: v, Label: f.Int(uint64(v))})
	}
	return ts, top
}
