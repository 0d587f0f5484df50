package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
)

// The listing and describing commands share one output flag, -o text|json.
// text, the default, is a table for people; json is one JSON document on
// standard output, indented two spaces, for scripts: field names in
// lowerCamelCase, the order of the table's rows, an empty list as [] and
// never null, nothing around the document. The shapes are documented in
// usageText.

// outputFormat is the value of -o. It checks itself when the flag is set,
// so a bad value is a usage error of the flag parser (exit 2).
type outputFormat string

const (
	outputText outputFormat = "text"
	outputJSON outputFormat = "json"
)

func (f *outputFormat) String() string { return string(*f) }

func (f *outputFormat) Set(s string) error {
	switch v := outputFormat(s); v {
	case outputText, outputJSON:
		*f = v
		return nil
	}
	return fmt.Errorf("want text or json")
}

// registerOutput adds -o to fs and returns the format it sets.
func registerOutput(fs *flag.FlagSet) *outputFormat {
	f := outputText
	fs.Var(&f, "o", "output: text or json")
	return &f
}

// emit writes doc as one indented JSON document when the format is json,
// and otherwise calls text, which writes the table.
func (f outputFormat) emit(w io.Writer, doc any, text func() error) error {
	if f == outputJSON {
		return writeJSON(w, doc, true)
	}
	return text()
}

// writeJSON writes v as one JSON document and a newline: indented two
// spaces, or on a single line (JSON Lines) when indent is false.
func writeJSON(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

// orEmpty is s, or an empty slice when s is nil, so that JSON shows [].
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
