package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestClusterProducerIDs: idempotent producers that ask different brokers
// of one cluster for a producer id never share one. Each broker claims
// its block of ids after the latest one in ZooKeeper's
// /latest_producer_id_block, which names the last claimer.
func TestClusterProducerIDs(t *testing.T) {
	c := startCluster(t, 6000)
	seen := map[int64]int{}
	for round := 0; round < 2; round++ {
		for i, b := range c.brokers {
			id := i + 1
			cl := newClient(t, b)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			resp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, cl.Broker(id))
			cancel()
			if err != nil || resp.ErrorCode != 0 {
				t.Fatalf("InitProducerId through broker %d: %+v, %v", id, resp, err)
			}
			if prev, ok := seen[resp.ProducerID]; ok {
				t.Errorf("producer id %d handed out by broker %d and again by broker %d", resp.ProducerID, prev, id)
			}
			seen[resp.ProducerID] = id
		}
	}
	block := zkDoc(t, c.zk, "/latest_producer_id_block")
	if block["version"] != 1.0 || block["block_start"] == nil || block["block_end"] == nil || block["broker"] == nil {
		t.Errorf("/latest_producer_id_block: %v; want Kafka's version 1 document", block)
	}
	t.Logf("producer ids by broker: %v; latest block %v", seen, block)
}
