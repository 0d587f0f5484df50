package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
)

// The legacy suite (Cloud Kafka only: the reference peer serves no
// message formats 0 and 1) measures what Kafka 0.9 and 0.10 clients cost
// the broker: the same records produced and consumed by franz-go pinned
// to those versions (Produce v1 and v2, Fetch v1 and v2, so every
// produce is converted up to a record batch and every fetch down to
// magic 0 or 1) and by franz-go at its newest versions, in the same run,
// uncompressed and with snappy, 1 KiB records, acks=1, one partition.

// legacyCells lists the suite's cells: for each codec, the modern
// reference first.
func legacyCells(o options) []cell {
	var cells []cell
	for _, codec := range []string{"none", "snappy"} {
		for _, client := range []string{"", "0.10", "0.9"} {
			cells = append(cells, cell{size: 1024, acks: "1", partitions: 1, records: o.records / 4, client: client, codec: codec})
		}
	}
	return cells
}

// runLegacySuite runs the legacy cells against seeds.
func runLegacySuite(ctx context.Context, seeds []string, name string, o options) ([]result, error) {
	var results []result
	for _, c := range legacyCells(o) {
		fmt.Fprintf(os.Stderr, "ckbench: %s legacy %s ...\n", name, c)
		r, err := runCell(ctx, seeds, c, o)
		r.target = name
		if err != nil {
			return results, fmt.Errorf("cell %s: %w", c, err)
		}
		results = append(results, r)
	}
	return results, nil
}

// printLegacyTable prints the legacy cells with their throughput as a
// ratio to the modern clients' on the same target and codec.
func printLegacyTable(w io.Writer, results []result) {
	type refKey struct{ target, codec string }
	ref := map[refKey]result{}
	for _, r := range results {
		if r.cell.client == "" {
			ref[refKey{r.target, r.cell.codec}] = r
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tclients\tcodec\trecords\tproduce rec/s\tMB/s\tconsume rec/s\tproduce vs modern\tconsume vs modern\t")
	for _, r := range results {
		client := r.cell.client
		if client == "" {
			client = "modern"
		}
		prodRatio, consRatio := "-", "-"
		if m, ok := ref[refKey{r.target, r.cell.codec}]; ok {
			prodRatio = fmt.Sprintf("%.2f", r.produceRate()/m.produceRate())
			consRatio = fmt.Sprintf("%.2f", r.consumeRate()/m.consumeRate())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.0f\t%.1f\t%.0f\t%s\t%s\t\n", r.target, client, r.cell.codec, r.cell.records,
			r.produceRate(), r.produceMBps(), r.consumeRate(), prodRatio, consRatio)
	}
	tw.Flush()
}
