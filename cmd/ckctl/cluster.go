package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

// clusterDescribe prints the cluster id, the controller and the live
// brokers with their addresses and racks, as Metadata reports them.
func clusterDescribe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("cluster", &e.g)
	if _, err := positional(fs, "cluster", args, 0); err != nil {
		return err
	}
	return e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) error {
		md, err := adm.BrokerMetadata(actx)
		if err != nil {
			return fmt.Errorf("describing the cluster: %w", err)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "CLUSTER\t%s\n", md.Cluster)
		fmt.Fprintf(tw, "CONTROLLER\t%d\n\n", md.Controller)
		fmt.Fprintln(tw, "BROKER\tHOST\tPORT\tRACK")
		for _, b := range md.Brokers {
			rack := "-"
			if b.Rack != nil {
				rack = *b.Rack
			}
			marker := ""
			if b.NodeID == md.Controller {
				marker = "*"
			}
			fmt.Fprintf(tw, "%d%s\t%s\t%d\t%s\n", b.NodeID, marker, b.Host, b.Port, rack)
		}
		return tw.Flush()
	})
}
