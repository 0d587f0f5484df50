package main

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	tab := table{header: []string{"goal", "value"}}
	tab.add("a long name", "1.00")
	tab.add("b|c", "12.50")
	var text, md strings.Builder
	tab.text(&text)
	tab.markdown(&md)
	// tabwriter pads every cell by two, on its left when right-aligned
	wantText := "  goal         value\n" +
		"  a long name   1.00\n" +
		"  b|c          12.50\n"
	if text.String() != wantText {
		t.Errorf("text:\n%s\nwant\n%s", text.String(), wantText)
	}
	wantMD := "| goal | value |\n|:---|---:|\n| a long name | 1.00 |\n| b\\|c | 12.50 |\n"
	if md.String() != wantMD {
		t.Errorf("markdown:\n%s\nwant\n%s", md.String(), wantMD)
	}
}
