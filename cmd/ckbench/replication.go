package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"
)

// The replication suite (Cloud Kafka only) measures what replication
// costs a producer. One cell, 1 KiB records with acks=all to six
// partitions, produced and consumed as every cell is (runCell), runs
// against a single broker (the cloudkafka target, replication factor 1)
// and against cluster3 (cluster.go) with replication factor 3 and
// min.insync.replicas=2, in -replication-rounds rounds: both targets stay
// up, and each round runs the single broker's cell and then cluster3's,
// so that a round's two cells see about the same machine. Each round's
// cluster3 produce rate is reported as a ratio to the single broker's;
// the aim is at least 0.5.

const (
	suiteReplication = "replication"
	targetCluster3   = "cluster3"

	replicationRecordBytes = 1024
	replicationPartitions  = 6
	replicationFactor      = 3
	replicationMinISR      = 2
	// replicationRatioAim is the least cluster3/single produce ratio
	// the replication work aims for.
	replicationRatioAim = 0.5
)

// replicationRound is one round's two results.
type replicationRound struct {
	single, cluster result
}

// replicationCells are the suite's cells: the same records to one broker
// and to three.
func replicationCells(o options) (single, cluster cell) {
	single = cell{size: replicationRecordBytes, acks: "all", partitions: replicationPartitions, records: o.replicationRecords}
	cluster = single
	cluster.replicas, cluster.minISR = replicationFactor, replicationMinISR
	return single, cluster
}

// runReplicationSuite starts both targets and runs the rounds. It
// returns the rounds completed, also on error.
func runReplicationSuite(ctx context.Context, o options) ([]replicationRound, error) {
	fmt.Fprintf(os.Stderr, "ckbench: starting %s (ZooKeeper and three brokers) and a single broker ...\n", targetCluster3)
	clusterSeeds, stopCluster, err := startCluster3(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", targetCluster3, err)
	}
	defer stopCluster()
	singleSeeds, stopSingle, _, err := startBroker(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("starting the single broker: %w", err)
	}
	defer stopSingle()
	singleCell, clusterCell := replicationCells(o)
	var rounds []replicationRound
	for i := 0; i < o.replicationRounds; i++ {
		var rd replicationRound
		for _, t := range []struct {
			name  string
			seeds []string
			c     cell
			r     *result
		}{{targetCloudKafka, singleSeeds, singleCell, &rd.single}, {targetCluster3, clusterSeeds, clusterCell, &rd.cluster}} {
			fmt.Fprintf(os.Stderr, "ckbench: replication round %d/%d: %s %s ...\n", i+1, o.replicationRounds, t.name, t.c)
			r, err := runCell(ctx, t.seeds, t.c, o)
			r.target = t.name
			if err != nil {
				return rounds, fmt.Errorf("round %d, %s, cell %s: %w", i+1, t.name, t.c, err)
			}
			*t.r = r
		}
		rounds = append(rounds, rd)
	}
	return rounds, nil
}

// produceRatio is cluster3's produce rate over the single broker's.
func (rd replicationRound) produceRatio() float64 {
	return rd.cluster.produceRate() / rd.single.produceRate()
}

// consumeRatio is cluster3's consume rate over the single broker's.
func (rd replicationRound) consumeRatio() float64 {
	return rd.cluster.consumeRate() / rd.single.consumeRate()
}

// medianRatio is the median of the rounds' produce ratios (of the middle
// two for an even count); 0 with no rounds.
func medianRatio(rounds []replicationRound) float64 {
	if len(rounds) == 0 {
		return 0
	}
	rs := make([]float64, len(rounds))
	for i, rd := range rounds {
		rs[i] = rd.produceRatio()
	}
	slices.Sort(rs)
	n := len(rs)
	if n%2 == 1 {
		return rs[n/2]
	}
	return (rs[n/2-1] + rs[n/2]) / 2
}

// printReplicationTable prints each round's two rows, the ratios on
// cluster3's, and the median produce ratio against the aim.
func printReplicationTable(w io.Writer, rounds []replicationRound, o options) {
	if len(rounds) == 0 {
		return
	}
	fmt.Fprintf(w, "\nreplication: %d B records, acks=all, %d partitions, %d records a cell; %s: three brokers and ZooKeeper, rf=%d, min.insync.replicas=%d\n",
		replicationRecordBytes, replicationPartitions, o.replicationRecords, targetCluster3, replicationFactor, replicationMinISR)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tround\trf\trecords/s\tMB/s\tp50\tp99\tconsume rec/s\tproduce vs 1 broker\tconsume vs 1 broker\t")
	row := func(r result, round int, prodRatio, consRatio string) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.1f\t%s\t%s\t%.0f\t%s\t%s\t\n", r.target, round, max(r.cell.replicas, 1),
			r.produceRate(), r.produceMBps(), roundLatency(r.latencyP50), roundLatency(r.latencyP99), r.consumeRate(), prodRatio, consRatio)
	}
	for i, rd := range rounds {
		row(rd.single, i+1, "-", "-")
		row(rd.cluster, i+1, fmt.Sprintf("%.2f", rd.produceRatio()), fmt.Sprintf("%.2f", rd.consumeRatio()))
	}
	tw.Flush()
	m, verdict := medianRatio(rounds), "meets"
	if m < replicationRatioAim {
		verdict = "is below"
	}
	fmt.Fprintf(w, "%s produce vs 1 broker: median %.2f over %d rounds, which %s the aim of %.2f\n",
		targetCluster3, m, len(rounds), verdict, replicationRatioAim)
}
