package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// table is a header and rows of cells, printed aligned for a terminal
// (text) or as a Markdown table for the README (markdown). The first
// column is a name; the others are numbers or short words.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// text prints t aligned: the first column to the left, padded to its
// widest cell, the others to the right, as the other tables of ckbench
// are.
func (t table) text(w io.Writer) {
	width := 0
	for _, r := range append([][]string{t.header}, t.rows...) {
		if len(r) > 0 {
			width = max(width, utf8.RuneCountInString(r[0]))
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	for _, r := range append([][]string{t.header}, t.rows...) {
		cells := slices.Clone(r)
		if len(cells) > 0 {
			cells[0] += strings.Repeat(" ", width-utf8.RuneCountInString(cells[0]))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
}

// markdown prints t as a GitHub Markdown table, the first column
// left-aligned and the others right-aligned. A "|" in a cell is escaped.
func (t table) markdown(w io.Writer) {
	line := func(cells []string) {
		esc := make([]string, len(cells))
		for i, c := range cells {
			esc[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(esc, " | "))
	}
	line(t.header)
	align := make([]string, len(t.header))
	for i := range align {
		align[i] = "---:"
	}
	if len(align) > 0 {
		align[0] = ":---"
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(align, "|"))
	for _, r := range t.rows {
		line(r)
	}
}
