package realio

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch sessions (KIP-227) over TCP, with raw requests: what a
// consumer's FetchSessionHandler sends, step by step, and what each
// answer must list. The rules per version are tested in core
// (fetch_session_test.go).

// sessionFetch builds a fetch of topic in session (id, epoch) listing
// parts at their offsets and forgetting forget.
func sessionFetch(topic string, tid [16]byte, id, epoch int32, parts map[int32]int64, forget []int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 0, 1, 1<<20
	req.SessionID, req.SessionEpoch = id, epoch
	if len(parts) > 0 {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, tid
		for _, p := range slices.Sorted(mapKeys(parts)) {
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, parts[p], 1<<20
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	if len(forget) > 0 {
		ft := kmsg.NewFetchRequestForgottenTopic()
		ft.Topic, ft.TopicID, ft.Partitions = topic, tid, forget
		req.ForgottenTopics = append(req.ForgottenTopics, ft)
	}
	return req
}

func mapKeys(m map[int32]int64) func(func(int32) bool) {
	return func(yield func(int32) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// listed names an answer's partitions, in order: "p<n>", "+" when
// records came.
func listed(resp *kmsg.FetchResponse) string {
	var out []string
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			s := fmt.Sprintf("p%d", p.Partition)
			if len(p.RecordBatches) > 0 {
				s += "+"
			}
			if p.ErrorCode != 0 {
				s += "!" + errName(p.ErrorCode)
			}
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

// TestFetchSessionsOverTCP: a full fetch opens a session; an incremental
// fetch with nothing new lists no partition; after a produce to one
// partition only that one comes back; a forgotten partition does not;
// a long poll wakes for a partition of its session and answers it
// alone; a repeated epoch is INVALID_FETCH_SESSION_EPOCH (v12, topics
// by name; v16, by id).
func TestFetchSessionsOverTCP(t *testing.T) {
	for _, v := range []int16{12, 16} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			b := startBroker(t, map[string]string{"admin.listener": "127.0.0.1:0"})
			c := b.dial(t)
			tid := createTopic(t, c, "s", 4, nil)
			ends := map[int32]int64{}
			for p := int32(0); p < 4; p++ {
				ends[p] = mustProduce(t, c, 9, "s", p, plainBatch(fmt.Sprintf("s%d", p), 2).bytes()) + 2
			}
			step := func(what string, req *kmsg.FetchRequest, code int16, want string) *kmsg.FetchResponse {
				t.Helper()
				resp := call[*kmsg.FetchResponse](t, c, v, req)
				checkCode(t, what, resp.ErrorCode, code)
				if got := listed(resp); got != want {
					t.Errorf("%s: got partitions %q; want %q", what, got, want)
				}
				return resp
			}
			full := step("full fetch", sessionFetch("s", tid, 0, 0, map[int32]int64{0: 0, 1: 0, 2: 0, 3: 0}, nil), 0, "p0+ p1+ p2+ p3+")
			sid := full.SessionID
			if sid == 0 {
				t.Fatalf("full fetch at epoch 0: got SessionID 0; want a session")
			}
			resp := step("incremental, nothing new", sessionFetch("s", tid, sid, 1, ends, nil), 0, "")
			if resp.SessionID != sid {
				t.Errorf("incremental: got SessionID %d; want %d", resp.SessionID, sid)
			}
			mustProduce(t, c, 9, "s", 2, plainBatch("s2b", 1).bytes())
			resp = step("after a produce to partition 2", sessionFetch("s", tid, sid, 2, nil, nil), 0, "p2+")
			if p := resp.Topics[0].Partitions[0]; p.HighWatermark != ends[2]+1 {
				t.Errorf("partition 2: got high watermark %d; want %d", p.HighWatermark, ends[2]+1)
			}
			ends[2]++
			step("partition 2 moved on, partition 3 forgotten", sessionFetch("s", tid, sid, 3, map[int32]int64{2: ends[2]}, []int32{3}), 0, "")
			mustProduce(t, c, 9, "s", 3, plainBatch("s3b", 1).bytes())
			step("after a produce to the forgotten partition 3", sessionFetch("s", tid, sid, 4, nil, nil), 0, "")

			// A long poll on the session, woken by a produce to partition
			// 1 on another connection: only partition 1 comes back.
			req := sessionFetch("s", tid, sid, 5, nil, nil)
			req.MaxWaitMillis = 10_000
			corr, err := c.send(withVersion(req, v))
			if err != nil {
				t.Fatalf("send long poll: %v", err)
			}
			// Let the poll park first (if the produce came first, the
			// answer must be the same, only sooner).
			time.Sleep(100 * time.Millisecond)
			mustProduce(t, b.dial(t), 9, "s", 1, plainBatch("s1b", 1).bytes())
			start := time.Now()
			r, err := c.recv(req, corr)
			if err != nil {
				t.Fatalf("long poll: %v", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("long poll answered %v after the produce; want well before MaxWaitMillis 10000", d)
			}
			if got := listed(r.(*kmsg.FetchResponse)); got != "p1+" {
				t.Errorf("woken long poll: got partitions %q; want \"p1+\"", got)
			}
			step("epoch 5 again", sessionFetch("s", tid, sid, 5, nil, nil), kerr.InvalidFetchSessionEpoch.Code, "")
			step("epoch 6", sessionFetch("s", tid, sid, 6, map[int32]int64{1: ends[1] + 1}, nil), 0, "")
			// The cache's gauges and counters, as Kafka's FetchSessionCache
			// MBeans: one session of 3 partitions (one forgotten), 6 incremental
			// fetches.
			_, body := adminGet(t, b.AdminAddr(), "GET", "/metrics")
			for _, want := range []string{
				"kafka_server_fetchsessioncache_numincrementalfetchsessions 1",
				"kafka_server_fetchsessioncache_numincrementalfetchpartitionscached 3",
				"kafka_server_fetchsessioncache_incrementalfetches_total 6",
				"kafka_server_fetchsessioncache_incrementalfetchsessionevictions_total 0",
			} {
				if !strings.Contains(body, want+"\n") {
					t.Errorf("/metrics lacks %q", want)
				}
			}
		})
	}
}
