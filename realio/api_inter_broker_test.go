package realio

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
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
