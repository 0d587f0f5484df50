package realio

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record deletion and producer state against one broker on its embedded
// coordinator: DeleteRecords (21) and DescribeProducers (61). Trims
// across followers and restarts are tested in core (admin_test.go) and
// end to end (cmd/cloudkafka e2e_trim_test.go).

func init() {
	versionCases[21] = versionCase{0, 2, testDeleteRecords}
	versionCases[61] = versionCase{0, 0, testDescribeProducers}
}

// deleteRecords sends one DeleteRecords of topic's partition at v and
// returns the partition's answer.
func deleteRecords(t testing.TB, c *client, v int16, topic string, partition int32, offset int64) kmsg.DeleteRecordsResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = 5000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := call[*kmsg.DeleteRecordsResponse](t, c, v, req)
	if len(resp.Topics) != 1 || resp.Topics[0].Topic != topic || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("DeleteRecords %s/%d: got %+v; want one partition", topic, partition, resp.Topics)
	}
	got := resp.Topics[0].Partitions[0]
	if got.Partition != partition {
		t.Fatalf("DeleteRecords %s/%d: answered partition %d", topic, partition, got.Partition)
	}
	return got
}

// ---- DeleteRecords (21) ----

// testDeleteRecords: a trim moves the log start (ListOffsets earliest,
// Fetch below it OFFSET_OUT_OF_RANGE, the low watermark answered), -1
// trims to the high watermark, and Kafka's refusals.
func testDeleteRecords(t *testing.T, v int16) {
	dir := t.TempDir()
	b := startBroker(t, map[string]string{"log.dirs": dir})
	c := b.dial(t)
	id := createTopic(t, c, "dr", 2, nil)
	createTopic(t, c, "drc", 1, map[string]string{"cleanup.policy": "compact"})
	createTopic(t, c, "drcd", 1, map[string]string{"cleanup.policy": "compact,delete"})
	for i := range 3 {
		mustProduce(t, c, 9, "dr", 0, plainBatch(fmt.Sprintf("dr%d", i), 2).bytes()) // offsets 2i, 2i+1
	}
	mustProduce(t, c, 9, "drcd", 0, plainBatch("drcd", 2).bytes())

	got := deleteRecords(t, c, v, "dr", 0, 3)
	if checkCode(t, "DeleteRecords dr/0 to 3", got.ErrorCode, 0) && got.LowWatermark != 3 {
		t.Errorf("DeleteRecords dr/0 to 3: got low watermark %d; want 3", got.LowWatermark)
	}
	if start, hwm := offsets(t, c, "dr", 0); start != 3 || hwm != 6 {
		t.Errorf("dr/0 after the trim: got log start %d, high watermark %d; want 3, 6", start, hwm)
	}
	if fp := fetchPart(t, c, 12, "dr", id, 0, 1); fp.ErrorCode != kerr.OffsetOutOfRange.Code || fp.LogStartOffset != 3 {
		t.Errorf("fetch dr/0 at 1 after the trim: got %s, log start %d; want OFFSET_OUT_OF_RANGE, 3", errName(fp.ErrorCode), fp.LogStartOffset)
	}
	if fp := fetchPart(t, c, 12, "dr", id, 0, 3); fp.ErrorCode != 0 || len(fp.RecordBatches) == 0 {
		t.Errorf("fetch dr/0 at 3 after the trim: got %s, %d bytes; want records", errName(fp.ErrorCode), len(fp.RecordBatches))
	}
	// A lower offset changes nothing and answers the low watermark.
	if got := deleteRecords(t, c, v, "dr", 0, 1); got.ErrorCode != 0 || got.LowWatermark != 3 {
		t.Errorf("DeleteRecords dr/0 to 1 below the log start: got %s, low watermark %d; want 0, 3", errName(got.ErrorCode), got.LowWatermark)
	}
	// -1 is the high watermark.
	if got := deleteRecords(t, c, v, "dr", 0, -1); got.ErrorCode != 0 || got.LowWatermark != 6 {
		t.Errorf("DeleteRecords dr/0 to -1: got %s, low watermark %d; want 0, 6", errName(got.ErrorCode), got.LowWatermark)
	}
	// compact,delete may be trimmed; compact alone may not.
	if got := deleteRecords(t, c, v, "drcd", 0, 1); got.ErrorCode != 0 || got.LowWatermark != 1 {
		t.Errorf("DeleteRecords of a compact,delete topic: got %s, low watermark %d; want 0, 1", errName(got.ErrorCode), got.LowWatermark)
	}
	for _, q := range []struct {
		what   string
		topic  string
		part   int32
		offset int64
		want   int16
	}{
		{"beyond the high watermark", "dr", 0, 7, kerr.OffsetOutOfRange.Code},
		{"at -2", "dr", 0, -2, kerr.OffsetOutOfRange.Code},
		{"of an unknown partition", "dr", 5, 0, kerr.UnknownTopicOrPartition.Code},
		{"of an unknown topic", "nope", 0, 0, kerr.UnknownTopicOrPartition.Code},
		{"of a compacted topic", "drc", 0, -1, kerr.PolicyViolation.Code},
	} {
		got := deleteRecords(t, c, v, q.topic, q.part, q.offset)
		if checkCode(t, "DeleteRecords "+q.what, got.ErrorCode, q.want) && got.LowWatermark != -1 {
			t.Errorf("DeleteRecords %s: got low watermark %d; want -1", q.what, got.LowWatermark)
		}
	}
	// The trimmed log start survives a restart.
	b.shutdown(t)
	b2 := startBroker(t, map[string]string{"log.dirs": dir})
	c2 := b2.dial(t)
	if start, hwm := offsets(t, c2, "dr", 0); start != 6 || hwm != 6 {
		t.Errorf("dr/0 after a restart: got log start %d, high watermark %d; want 6, 6", start, hwm)
	}
}

// ---- DescribeProducers (61) ----

// testDescribeProducers: an idempotent producer's state per partition,
// and Kafka's errors.
func testDescribeProducers(t *testing.T, v int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	createTopic(t, c, "dp", 2, nil)
	pid := initProducerID(t, c)
	mustProduce(t, c, 9, "dp", 1, plainBatch("dp0", 3).idem(pid, 0, 0).at(5000).bytes())
	second := plainBatch("dp1", 2).idem(pid, 0, 3).at(7000)
	mustProduce(t, c, 9, "dp", 1, second.bytes())
	mustProduce(t, c, 9, "dp", 0, plainBatch("plain", 1).bytes()) // not idempotent: no state
	req := kmsg.NewPtrDescribeProducersRequest()
	for _, q := range []struct {
		topic string
		parts []int32
	}{{"dp", []int32{0, 1, 4}}, {"nope", []int32{0}}, {"bad name!", []int32{0}}} {
		rt := kmsg.NewDescribeProducersRequestTopic()
		rt.Topic, rt.Partitions = q.topic, q.parts
		req.Topics = append(req.Topics, rt)
	}
	resp := call[*kmsg.DescribeProducersResponse](t, c, v, req)
	if len(resp.Topics) != 3 || len(resp.Topics[0].Partitions) != 3 {
		t.Fatalf("DescribeProducers: got %+v; want three topics, the first with three partitions", resp.Topics)
	}
	ps := resp.Topics[0].Partitions
	if checkCode(t, "dp/0", ps[0].ErrorCode, 0) && len(ps[0].ActiveProducers) != 0 {
		t.Errorf("dp/0: got producers %+v; want none", ps[0].ActiveProducers)
	}
	if checkCode(t, "dp/1", ps[1].ErrorCode, 0) {
		want := fmt.Sprintf("[{id %d epoch 0 seq 4 ts %d coord -1 txn -1}]", pid, second.maxTS())
		got := "["
		for _, ap := range ps[1].ActiveProducers {
			got += fmt.Sprintf("{id %d epoch %d seq %d ts %d coord %d txn %d}", ap.ProducerID, ap.ProducerEpoch, ap.LastSequence, ap.LastTimestamp, ap.CoordinatorEpoch, ap.CurrentTxnStartOffset)
		}
		if got += "]"; got != want {
			t.Errorf("dp/1 producers: got %s; want %s", got, want)
		}
	}
	checkCode(t, "dp/4 (no such partition)", ps[2].ErrorCode, kerr.UnknownTopicOrPartition.Code)
	checkCode(t, "nope/0 (no such topic)", resp.Topics[1].Partitions[0].ErrorCode, kerr.UnknownTopicOrPartition.Code)
	checkCode(t, "an illegal topic name", resp.Topics[2].Partitions[0].ErrorCode, kerr.InvalidTopicException.Code)
}
