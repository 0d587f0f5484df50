package core_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// followerHarness starts broker 1 as a follower of broker 2 for topic t's
// partitions (empty logs), which broker 2 leads at leader epoch 1 once it
// registers.
func followerHarness(t *testing.T, parts int) *harness {
	t.Helper()
	cfg := clusterBrokerConfig(t)
	var uuid [16]byte
	uuid[15] = 1
	assign := map[string][]int{}
	for i := 0; i < parts; i++ {
		assign[fmt.Sprint(i)] = []int{2, 1}
	}
	doc := fmt.Sprintf(`{"version":3,"topic_id":%q,"partitions":%s,"adding_replicas":{},"removing_replicas":{}}`,
		base64.RawURLEncoding.EncodeToString(uuid[:]), mustJSONText(t, assign))
	rec := core.Recovered{Znodes: []core.Znode{{Path: "/brokers/topics/t", Data: []byte(doc)}}}
	for i := 0; i < parts; i++ {
		// offline (its ISR is broker 2 alone) until broker 2 registers
		rec.Znodes = append(rec.Znodes, core.Znode{Path: fmt.Sprintf("/brokers/topics/t/partitions/%d/state", i),
			Data: []byte(`{"controller_epoch":1,"leader":2,"version":1,"leader_epoch":0,"isr":[2]}`)})
		rec.Partitions = append(rec.Partitions, core.RecoveredPartition{Partition: core.TopicPartition{Topic: "t", Partition: int32(i)}})
	}
	return newHarnessFrom(t, cfg, rec)
}

// TestFollowerFetchesEveryPartitionAgain: once the batches a replica
// fetch brought are written, the follower's next fetch asks for every
// partition again, each from its new log end; none is left out because
// its append had only just completed (it would wait out the leader's
// long poll on the others).
func TestFollowerFetchesEveryPartitionAgain(t *testing.T) {
	h := followerHarness(t, 2)
	var fetches []*kmsg.FetchRequest
	h.peerAnswer = func(ps core.PeerSend) core.PeerResponse {
		req, ok := ps.Request.(*kmsg.FetchRequest)
		if !ok || ps.Broker != 2 {
			return core.PeerResponse{Err: errDisk}
		}
		fetches = append(fetches, req)
		if len(fetches) > 1 {
			return core.PeerResponse{Err: errDisk} // the test looks at the second fetch only
		}
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		for _, rt := range req.Topics {
			tt := kmsg.NewFetchResponseTopic()
			tt.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				batch := makeBatch(batchOpts{records: 3})
				binary.BigEndian.PutUint32(batch[12:], uint32(rp.CurrentLeaderEpoch)) // the leader's epoch
				p := kmsg.NewFetchResponseTopicPartition()
				p.Partition, p.HighWatermark, p.LogStartOffset, p.RecordBatches = rp.Partition, 0, 0, batch
				tt.Partitions = append(tt.Partitions, p)
			}
			resp.Topics = append(resp.Topics, tt)
		}
		return core.PeerResponse{Response: resp}
	}
	h.register(h.coord.OpenSession(), 2)
	h.tick(100)
	h.deliverAll()
	if len(fetches) < 2 {
		t.Fatalf("replica fetches sent: %d; want a second after the first's batches were written", len(fetches))
	}
	second := map[string]int64{}
	for _, rt := range fetches[1].Topics {
		for _, rp := range rt.Partitions {
			second[fmt.Sprintf("%s-%d", rt.Topic, rp.Partition)] = rp.FetchOffset
		}
	}
	for _, rt := range fetches[0].Topics {
		for _, rp := range rt.Partitions {
			name := fmt.Sprintf("%s-%d", rt.Topic, rp.Partition)
			if off, ok := second[name]; !ok || off != 3 {
				t.Errorf("%s: took 3 records from the first replica fetch; the second asks for it: %v, at %d; want at 3", name, ok, off)
			}
		}
	}
}

func mustJSONText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
