package realio

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// ---- LeaderAndIsr (4), StopReplica (5), UpdateMetadata (6) ----
//
// The controller's requests reach a broker over its client listener, as
// in Kafka. A client that is not the controller this broker knows, or
// that does not address the broker's current registration (its broker
// epoch, which only the coordination store tells), is refused with
// STALE_CONTROLLER_EPOCH or STALE_BROKER_EPOCH, and nothing changes: the
// partition it tried to move, drop or delete is still served.

// interBrokerCase sends req (built for controller id, controller epoch
// and broker epoch) twice from a plain client, as a stranger and as a
// client that knows the controller but not the broker's epoch, and
// checks the refusals and that ib-0 is still led and writable.
func interBrokerCase(t *testing.T, v int16, build func(ctl int32, epoch int32, brokerEpoch int64) kmsg.Request, code func(kmsg.Response) int16) {
	b := startBroker(t, nil)
	c := b.dial(t)
	createTopic(t, c, "ib", 1, nil)
	mustProduce(t, c, 9, "ib", 0, plainBatch("ib", 2).bytes())
	md := call[*kmsg.MetadataResponse](t, c, 12, kmsg.NewPtrMetadataRequest())
	for _, attempt := range []struct {
		what        string
		ctl, epoch  int32
		brokerEpoch int64
		want        int16
	}{
		{"from a client naming another controller", md.ControllerID + 100, 1 << 20, 1, kerr.StaleControllerEpoch.Code},
		// (a new cluster's first controller has epoch 1)
		{"from a client naming the controller, not the broker's epoch", md.ControllerID, 1, 1 << 40, kerr.StaleBrokerEpoch.Code},
	} {
		req := build(attempt.ctl, attempt.epoch, attempt.brokerEpoch)
		req.SetVersion(v)
		resp, err := c.roundTrip(req)
		if err != nil {
			t.Fatalf("%s %s: %v", kmsg.NameForKey(req.Key()), attempt.what, err)
		}
		checkCode(t, kmsg.NameForKey(req.Key())+" "+attempt.what, code(resp), attempt.want)
	}
	mt, ok := metadataTopic(t, c, "ib")
	if !ok || len(mt.Partitions) != 1 || mt.Partitions[0].Leader != md.Brokers[0].NodeID || mt.Partitions[0].ErrorCode != 0 {
		t.Fatalf("ib after the refused requests: got %+v (listed %v); want partition 0 led by broker %d", mt.Partitions, ok, md.Brokers[0].NodeID)
	}
	if off := mustProduce(t, c, 9, "ib", 0, plainBatch("ib", 1).bytes()); off != 2 {
		t.Errorf("produce to ib-0 after the refused requests: got offset %d; want 2", off)
	}
}

func testLeaderAndIsr(t *testing.T, v int16) {
	interBrokerCase(t, v, func(ctl, epoch int32, brokerEpoch int64) kmsg.Request {
		req := kmsg.NewPtrLeaderAndISRRequest()
		req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = ctl, epoch, brokerEpoch
		ts := kmsg.NewLeaderAndISRRequestTopicState()
		ts.Topic = "ib"
		ps := kmsg.NewLeaderAndISRRequestTopicPartition()
		ps.Partition, ps.Leader, ps.LeaderEpoch, ps.ISR, ps.Replicas = 0, 7, 99, []int32{7}, []int32{0, 7}
		ts.PartitionStates = append(ts.PartitionStates, ps)
		req.TopicStates = append(req.TopicStates, ts)
		return req
	}, func(r kmsg.Response) int16 { return r.(*kmsg.LeaderAndISRResponse).ErrorCode })
}

func testStopReplica(t *testing.T, v int16) {
	interBrokerCase(t, v, func(ctl, epoch int32, brokerEpoch int64) kmsg.Request {
		req := kmsg.NewPtrStopReplicaRequest()
		req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = ctl, epoch, brokerEpoch
		rt := kmsg.NewStopReplicaRequestTopic()
		rt.Topic = "ib"
		ps := kmsg.NewStopReplicaRequestTopicPartitionState()
		ps.Partition, ps.LeaderEpoch, ps.Delete = 0, -2, true
		rt.PartitionStates = append(rt.PartitionStates, ps)
		req.Topics = append(req.Topics, rt)
		return req
	}, func(r kmsg.Response) int16 { return r.(*kmsg.StopReplicaResponse).ErrorCode })
}

func testUpdateMetadata(t *testing.T, v int16) {
	interBrokerCase(t, v, func(ctl, epoch int32, brokerEpoch int64) kmsg.Request {
		req := kmsg.NewPtrUpdateMetadataRequest()
		req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = ctl, epoch, brokerEpoch
		ts := kmsg.NewUpdateMetadataRequestTopicState()
		ts.Topic = "ib"
		ps := kmsg.NewUpdateMetadataRequestTopicPartition()
		ps.Partition, ps.Leader, ps.Replicas, ps.ISR = 0, -2, []int32{0}, []int32{0} // "being deleted"
		ts.PartitionStates = append(ts.PartitionStates, ps)
		req.TopicStates = append(req.TopicStates, ts)
		return req
	}, func(r kmsg.Response) int16 { return r.(*kmsg.UpdateMetadataResponse).ErrorCode })
}

// ---- ControlledShutdown (7) ----
//
// A broker about to stop asks the controller (here the lone broker) with
// its id and broker epoch. A client that is not a broker is refused,
// whatever it names: a broker that is not registered is
// BROKER_NOT_AVAILABLE, and this broker at an epoch that is not its
// registration's (only the coordination store tells it) is
// STALE_BROKER_EPOCH. Nothing changes: this broker still leads the
// partitions of a topic created afterwards.

func testControlledShutdown(t *testing.T, v int16) {
	b := startBroker(t, map[string]string{"broker.id": "4"})
	c := b.dial(t)
	md := call[*kmsg.MetadataResponse](t, c, 12, kmsg.NewPtrMetadataRequest())
	if md.ControllerID != 4 {
		t.Fatalf("Metadata: controller %d; want 4, the lone broker", md.ControllerID)
	}
	for _, attempt := range []struct {
		what   string
		broker int32
		epoch  int64
		want   int16
	}{
		{"naming a broker that is not registered", 5, 1, kerr.BrokerNotAvailable.Code},
		{"naming this broker with no epoch", 4, -1, kerr.StaleBrokerEpoch.Code},
		{"naming this broker at an epoch not its registration's", 4, 1 << 40, kerr.StaleBrokerEpoch.Code},
	} {
		req := kmsg.NewPtrControlledShutdownRequest()
		req.BrokerID, req.BrokerEpoch = attempt.broker, attempt.epoch
		resp := call[*kmsg.ControlledShutdownResponse](t, c, v, req)
		checkCode(t, "ControlledShutdown "+attempt.what, resp.ErrorCode, attempt.want)
		if len(resp.PartitionsRemaining) != 0 {
			t.Errorf("ControlledShutdown %s: remaining partitions %v; want none", attempt.what, resp.PartitionsRemaining)
		}
	}
	createTopic(t, c, "after-refusals", 3, nil)
	mt, ok := metadataTopic(t, c, "after-refusals")
	if !ok || len(mt.Partitions) != 3 {
		t.Fatalf("after-refusals: got %+v (listed %v); want 3 partitions", mt.Partitions, ok)
	}
	for _, p := range mt.Partitions {
		if p.Leader != 4 || p.ErrorCode != 0 {
			t.Errorf("after-refusals-%d: leader %d, error %s; want led by broker 4", p.Partition, p.Leader, errName(p.ErrorCode))
		}
	}
}

// TestControlledShutdownOldVersions: v0 (Kafka's request header v0,
// without a client id) and v1 carry no broker epoch and are not served:
// the connection is closed, the log saying the version is unsupported
// (so v0's header was read as Kafka writes it).
func TestControlledShutdownOldVersions(t *testing.T) {
	b := startBroker(t, nil)
	v0 := binary.BigEndian.AppendUint32(nil, 12)
	v0 = binary.BigEndian.AppendUint16(v0, 7) // key
	v0 = binary.BigEndian.AppendUint16(v0, 0) // version
	v0 = binary.BigEndian.AppendUint32(v0, 1) // correlation id, and no client id
	v0 = binary.BigEndian.AppendUint32(v0, 0) // BrokerId
	v1 := rawFrame(7, 1, binary.BigEndian.AppendUint32(nil, 0))
	for v, frame := range [][]byte{v0, v1} {
		from := b.logLines()
		c := b.dial(t)
		writeRaw(c, frame)
		expectClosed(t, c)
		b.waitLog(t, from, fmt.Sprintf("unsupported version %d of API key 7", v))
	}
}

// TestControlledShutdownWaitMax: the wait for a controlled shutdown
// covers every attempt (a dial and a round trip each) and the backoffs
// between them, and saturates rather than overflows.
func TestControlledShutdownWaitMax(t *testing.T) {
	for _, tc := range []struct {
		cs   core.ControlledShutdown
		want time.Duration
	}{
		{core.ControlledShutdown{Enable: true, MaxRetries: 3, RetryBackoffMs: 5000}, 3*(2*peerTimeout+5*time.Second) + 5*time.Second},
		{core.ControlledShutdown{Enable: true, MaxRetries: 0, RetryBackoffMs: 5000}, 5 * time.Second},
		{core.ControlledShutdown{Enable: true, MaxRetries: -4, RetryBackoffMs: 5000}, 5 * time.Second},
		{core.ControlledShutdown{Enable: true, MaxRetries: math.MaxInt32, RetryBackoffMs: math.MaxInt64}, math.MaxInt64},
	} {
		if got := controlledShutdownWaitMax(tc.cs); got != tc.want {
			t.Errorf("controlledShutdownWaitMax(%+v): got %v; want %v", tc.cs, got, tc.want)
		}
	}
}
