package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

// clusterJSON is cluster -o json.
type clusterJSON struct {
	Cluster    string              `json:"cluster"`
	Controller int32               `json:"controller"` // -1 when there is none
	Brokers    []clusterBrokerJSON `json:"brokers"`    // by node id
}

type clusterBrokerJSON struct {
	NodeID     int32   `json:"nodeId"`
	Host       string  `json:"host"`
	Port       int32   `json:"port"`
	Rack       *string `json:"rack"` // null without a rack
	Controller bool    `json:"controller"`
}

// clusterDescribe prints the cluster id, the controller and the live
// brokers with their addresses and racks, as Metadata reports them.
func clusterDescribe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("cluster", &e.g)
	output := registerOutput(fs)
	if _, err := positional(fs, "cluster", args, 0); err != nil {
		return err
	}
	var md kadm.Metadata
	err := e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		md, err = adm.BrokerMetadata(actx)
		return err
	})
	if err != nil {
		return fmt.Errorf("describing the cluster: %w", err)
	}
	// kadm sorts the brokers by node id.
	doc := clusterJSON{Cluster: md.Cluster, Controller: md.Controller, Brokers: []clusterBrokerJSON{}}
	for _, b := range md.Brokers {
		doc.Brokers = append(doc.Brokers, clusterBrokerJSON{b.NodeID, b.Host, b.Port, b.Rack, b.NodeID == md.Controller})
	}
	return output.emit(e.stdout, doc, func() error {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "CLUSTER\t%s\n", doc.Cluster)
		fmt.Fprintf(tw, "CONTROLLER\t%d\n\n", doc.Controller)
		fmt.Fprintln(tw, "BROKER\tHOST\tPORT\tRACK")
		for _, b := range doc.Brokers {
			rack := "-"
			if b.Rack != nil {
				rack = *b.Rack
			}
			marker := ""
			if b.Controller {
				marker = "*"
			}
			fmt.Fprintf(tw, "%d%s\t%s\t%d\t%s\n", b.NodeID, marker, b.Host, b.Port, rack)
		}
		return tw.Flush()
	})
}
