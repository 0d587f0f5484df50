package core_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	"cloudkafka/core/cover"
)

// The controller's side of a controlled shutdown (see also shutdown_test.go).

// clusterHarness starts broker 1 (the controller: it is alone when it
// starts) with coverage counted and the given properties.
func clusterHarness(t *testing.T, props map[string]string) (*harness, *cover.Counts) {
	t.Helper()
	all := map[string]string{"broker.id": "1", "zookeeper.connect": "zk:2181"}
	for k, v := range props {
		all[k] = v
	}
	cfg, err := core.ParseProperties(all)
	if err != nil {
		t.Fatal(err)
	}
	counts := &cover.Counts{}
	cfg.Seed, cfg.Coverage = 42, counts
	h := newHarnessFrom(t, cfg, core.Recovered{})
	h.deliverAll()
	return h, counts
}

// peerRegistration creates broker id's registration, its ephemeral
// /brokers/ids/<id> (the broker runs elsewhere, at peer-<id>:<9000+id>).
func peerRegistration(id int) core.CoordOp {
	doc := fmt.Sprintf(`{"version":5,"host":"peer-%d","port":%d,"endpoints":["PLAINTEXT://peer-%d:%d"],"jmx_port":-1}`, id, 9000+id, id, 9000+id)
	return core.CoordOp{Kind: core.CoordCreate, Path: fmt.Sprintf("/brokers/ids/%d", id), Data: []byte(doc), Ephemeral: true}
}

// clusterBrokerConfig is broker 1's configuration in a ZooKeeper
// cluster, with the harness's seed.
func clusterBrokerConfig(t *testing.T) core.Config {
	t.Helper()
	cfg, err := core.ParseProperties(map[string]string{"broker.id": "1", "zookeeper.connect": "zk:2181"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 42
	return cfg
}

// register creates broker id's registration on session (the broker
// runs elsewhere) and returns its broker epoch.
func (h *harness) register(session int64, id int) int64 {
	h.t.Helper()
	res, fired := h.coord.Apply(session, peerRegistration(id))
	if res.Err != nil {
		h.t.Fatalf("registering broker %d: %v", id, res.Err)
	}
	h.deliverWatches(fired)
	h.deliverAll()
	return res.Stat.Czxid
}

// epochOf is broker id's broker epoch: its registration's czxid.
func (h *harness) epochOf(id int) int64 {
	h.t.Helper()
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordExists, Path: fmt.Sprintf("/brokers/ids/%d", id)})
	if res.Err != nil {
		h.t.Fatalf("/brokers/ids/%d: %v", id, res.Err)
	}
	return res.Stat.Czxid
}

// writeTopic writes a topic's assignment as an operator's tool would
// (replication factors above 1 included, which CreateTopics refuses).
func (h *harness) writeTopic(name string, id byte, assignment map[string][]int) {
	h.t.Helper()
	var uuid [16]byte
	uuid[15] = id
	doc, _ := json.Marshal(map[string]any{"version": 3, "topic_id": base64.RawURLEncoding.EncodeToString(uuid[:]),
		"partitions": assignment, "adding_replicas": map[string]any{}, "removing_replicas": map[string]any{}})
	res, fired := h.coord.Apply(0, core.CoordOp{Kind: core.CoordCreate, Path: "/brokers/topics/" + name, Data: doc, Parents: true})
	if res.Err != nil {
		h.t.Fatalf("writing topic %s: %v", name, res.Err)
	}
	h.deliverWatches(fired)
	h.deliverAll()
}

// partitionState reads a partition's state znode: its leader and ISR,
// ok false when there is none.
func (h *harness) partitionState(topic string, p int) (leader int32, isr []int32, ok bool) {
	h.t.Helper()
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: fmt.Sprintf("/brokers/topics/%s/partitions/%d/state", topic, p)})
	if errors.Is(res.Err, core.ErrCoordNoNode) {
		return -1, nil, false
	}
	var z struct {
		Leader int32   `json:"leader"`
		ISR    []int32 `json:"isr"`
	}
	if res.Err != nil || json.Unmarshal(res.Data, &z) != nil {
		h.t.Fatalf("%s-%d state: %v %q", topic, p, res.Err, res.Data)
	}
	return z.Leader, z.ISR, true
}

// controlledShutdown sends ControlledShutdown at version v for broker id
// at epoch, and returns the answer once every completion is delivered.
func (h *harness) controlledShutdown(v int16, id int32, epoch int64) *kmsg.ControlledShutdownResponse {
	h.t.Helper()
	req := kmsg.NewPtrControlledShutdownRequest()
	req.BrokerID, req.BrokerEpoch = id, epoch
	seq := h.send(1, v, req)
	h.deliverAll()
	return h.mustResponse(seq).(*kmsg.ControlledShutdownResponse)
}

func remainingNames(resp *kmsg.ControlledShutdownResponse) []string {
	var out []string
	for _, p := range resp.PartitionsRemaining {
		out = append(out, fmt.Sprintf("%s-%d", p.Topic, p.Partition))
	}
	return out
}

func codeName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	return kerr.TypedErrorForCode(code).Message
}

// TestControlledShutdownRefused: the controller refuses a broker that
// is not registered (BROKER_NOT_AVAILABLE) and any broker epoch but the
// registration's (STALE_BROKER_EPOCH): an older one, as Kafka, and also
// -1 and a newer one, which a client that is not the broker would send.
// A refusal changes nothing: the broker is still elected afterwards.
func TestControlledShutdownRefused(t *testing.T) {
	for _, v := range []int16{2, 3} {
		h, counts := clusterHarness(t, nil)
		epoch := h.register(h.coord.OpenSession(), 2)
		for _, tc := range []struct {
			what  string
			id    int32
			epoch int64
			want  int16
		}{
			{"a broker that is not registered", 7, epoch, kerr.BrokerNotAvailable.Code},
			{"an older broker epoch", 2, epoch - 1, kerr.StaleBrokerEpoch.Code},
			{"no broker epoch (-1)", 2, -1, kerr.StaleBrokerEpoch.Code},
			{"a newer broker epoch", 2, epoch + 1, kerr.StaleBrokerEpoch.Code},
		} {
			resp := h.controlledShutdown(v, tc.id, tc.epoch)
			if resp.ErrorCode != tc.want || len(resp.PartitionsRemaining) != 0 {
				t.Errorf("v%d %s: got %s, remaining %v; want %s, none", v, tc.what, codeName(resp.ErrorCode), remainingNames(resp), codeName(tc.want))
			}
		}
		if n := counts.Of(cover.ControlledShutdown); n != 0 {
			t.Errorf("v%d: coverage point controlled-shutdown fired %d times after refusals; want 0", v, n)
		}
		h.writeTopic("onto-2", 1, map[string][]int{"0": {2}})
		if leader, _, _ := h.partitionState("onto-2", 0); leader != 2 {
			t.Errorf("v%d: a partition on broker 2 after the refusals: leader %d; want 2", v, leader)
		}
	}
}

// TestControlledShutdownNotController: a broker that is not the
// controller answers NOT_CONTROLLER.
func TestControlledShutdownNotController(t *testing.T) {
	h, _ := clusterHarness(t, nil)
	h.followController(9)
	resp := h.controlledShutdown(3, 1, h.epochOf(1))
	if resp.ErrorCode != kerr.NotController.Code {
		t.Errorf("ControlledShutdown to a broker following controller 9: got %s; want NOT_CONTROLLER", codeName(resp.ErrorCode))
	}
}

// followController makes broker id (registered, at peer-<id>) the
// controller: the harness's broker loses its session, and registers
// anew once id holds /controller.
func (h *harness) followController(id int) {
	h.t.Helper()
	h.coord.CloseSession(h.session)
	h.session = h.coord.OpenSession()
	peer := h.coord.OpenSession()
	h.register(peer, id)
	doc := fmt.Sprintf(`{"version":2,"brokerid":%d,"timestamp":"0","kraftControllerEpoch":-1}`, id)
	if res, _ := h.coord.Apply(peer, core.CoordOp{Kind: core.CoordCreate, Path: "/controller", Ephemeral: true, Data: []byte(doc)}); res.Err != nil {
		h.t.Fatal(res.Err)
	}
	h.step(core.CoordNewSession{Session: h.session})
	h.tick(1)
	h.deliverAll()
	md := h.mustResponse(h.send(1, 12, kmsg.NewPtrMetadataRequest())).(*kmsg.MetadataResponse)
	if md.ControllerID != int32(id) {
		h.t.Fatalf("following broker %d: Metadata says controller %d", id, md.ControllerID)
	}
}

// TestControlledShutdownAccepted: at its registration's epoch a broker's
// controlled shutdown is accepted (no partition to move: it leads none
// with another replica), the controller reports it, and from then on the
// broker is elected leader of nothing and joins no ISR; once it
// registers anew, it is elected again.
func TestControlledShutdownAccepted(t *testing.T) {
	h, counts := clusterHarness(t, nil)
	session := h.coord.OpenSession()
	epoch := h.register(session, 2)
	h.writeTopic("before", 1, map[string][]int{"0": {2}})
	resp := h.controlledShutdown(3, 2, epoch)
	if resp.ErrorCode != 0 || len(resp.PartitionsRemaining) != 0 {
		t.Fatalf("ControlledShutdown of broker 2: got %s, remaining %v; want NONE, none", codeName(resp.ErrorCode), remainingNames(resp))
	}
	if n := counts.Of(cover.ControlledShutdown); n != 1 {
		t.Errorf("coverage point controlled-shutdown: fired %d times; want 1", n)
	}
	var accepted []core.ShutdownAccepted
	for _, l := range h.lifecycles {
		if l.ShutdownAccepted != nil {
			accepted = append(accepted, *l.ShutdownAccepted)
		}
	}
	if want := []core.ShutdownAccepted{{Broker: 2, Remaining: 0}}; !slices.Equal(accepted, want) {
		t.Errorf("controller's reports: got %v; want %v", accepted, want)
	}
	if leader, _, _ := h.partitionState("before", 0); leader != 2 {
		t.Errorf("the partition broker 2 led before: leader %d; want still 2 (one replica: it stays until the broker stops)", leader)
	}

	h.writeTopic("onto-2", 2, map[string][]int{"0": {2}, "1": {2, 1}})
	if leader, isr, ok := h.partitionState("onto-2", 0); ok {
		t.Errorf("onto-2-0 (only on broker 2) while it shuts down: leader %d, ISR %v; want no state, no leader", leader, isr)
	}
	if leader, isr, _ := h.partitionState("onto-2", 1); leader != 1 || !slices.Equal(isr, []int32{1}) {
		t.Errorf("onto-2-1 (replicas 2, 1) while broker 2 shuts down: leader %d, ISR %v; want 1, [1]", leader, isr)
	}

	// Broker 2 stops, and returns with a new registration.
	h.deliverWatches(h.coord.CloseSession(session))
	h.deliverAll()
	if leader, _, _ := h.partitionState("before", 0); leader != -1 {
		t.Errorf("before-0 once broker 2 stopped: leader %d; want -1 (offline)", leader)
	}
	h.register(h.coord.OpenSession(), 2)
	for _, p := range []struct {
		topic string
		part  int
	}{{"before", 0}, {"onto-2", 0}} {
		if leader, _, _ := h.partitionState(p.topic, p.part); leader != 2 {
			t.Errorf("%s-%d after broker 2 registered anew: leader %d; want 2", p.topic, p.part, leader)
		}
	}
}

// TestControlledShutdownRemaining: before answering, the controller
// hands the broker's leaderships to another in-sync replica; the answer
// lists the partitions it still leads that have another replica (Kafka's
// partitionLeadersOnBroker), in order: here those whose other replica is
// not in sync. Not those it follows, not those with one replica, not
// those of a topic being deleted.
func TestControlledShutdownRemaining(t *testing.T) {
	h, _ := clusterHarness(t, nil)
	h.register(h.coord.OpenSession(), 2)
	h.writeTopic("b-shared", 1, map[string][]int{"0": {1, 2}, "1": {2, 1}, "2": {1, 2}})
	h.writeTopic("a-single", 2, map[string][]int{"0": {1}})
	h.writeTopic("c-going", 3, map[string][]int{"0": {1, 2}})
	h.writeTopic("d-alone", 4, map[string][]int{"0": {1, 3}, "1": {1, 3}}) // broker 3 is not registered: ISR [1]
	res, fired := h.coord.Apply(0, core.CoordOp{Kind: core.CoordCreate, Path: "/admin/delete_topics/c-going", Parents: true})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	h.deliverWatches(fired)
	h.deliverAll()
	for i := 0; i < 2; i++ { // asked twice: the answer stays
		resp := h.controlledShutdown(3, 1, h.epochOf(1))
		if got, want := remainingNames(resp), []string{"d-alone-0", "d-alone-1"}; resp.ErrorCode != 0 || !slices.Equal(got, want) {
			t.Errorf("ControlledShutdown %d of broker 1: got %s, remaining %v; want NONE, %v", i+1, codeName(resp.ErrorCode), got, want)
		}
	}
	for _, p := range []int{0, 2} {
		if leader, isr, _ := h.partitionState("b-shared", p); leader != 2 || !slices.Equal(isr, []int32{2}) {
			t.Errorf("b-shared-%d after broker 1's controlled shutdown: leader %d, ISR %v; want 2, [2]", p, leader, isr)
		}
	}
	if leader, isr, _ := h.partitionState("b-shared", 1); leader != 2 || !slices.Equal(isr, []int32{2}) {
		t.Errorf("b-shared-1 (led by broker 2) after broker 1's controlled shutdown: leader %d, ISR %v; want 2, [2] (broker 1 out of its ISR)", leader, isr)
	}
}

// TestControlledShutdownWaitsForLoad: a request that arrives while the
// controller reloads its topics is answered once they are loaded and the
// states they call for are written, with what they say.
func TestControlledShutdownWaitsForLoad(t *testing.T) {
	h, _ := clusterHarness(t, nil)
	h.register(h.coord.OpenSession(), 2)
	var uuid [16]byte
	uuid[15] = 1
	doc := fmt.Sprintf(`{"version":3,"topic_id":%q,"partitions":{"0":[1,2]},"adding_replicas":{},"removing_replicas":{}}`,
		base64.RawURLEncoding.EncodeToString(uuid[:]))
	res, fired := h.coord.Apply(0, core.CoordOp{Kind: core.CoordCreate, Path: "/brokers/topics/late", Data: []byte(doc), Parents: true})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	h.deliverWatches(fired)
	// the watch alone: the controller begins loading; its reads wait
	h.deliver(func(ev core.Event) bool { _, ok := ev.(core.CoordWatchFired); return ok })
	req := kmsg.NewPtrControlledShutdownRequest()
	req.BrokerID, req.BrokerEpoch = 1, h.epochOf(1)
	seq := h.send(1, 3, req)
	if r := h.response(seq); r != nil {
		t.Fatalf("ControlledShutdown during the load: answered at once (%+v); want an answer once loaded", r)
	}
	h.deliverAll()
	resp := h.mustResponse(seq).(*kmsg.ControlledShutdownResponse)
	if got := remainingNames(resp); resp.ErrorCode != 0 || len(got) != 0 {
		t.Errorf("ControlledShutdown answered after the load: got %s, remaining %v; want NONE, none (late-0 handed to broker 2)", codeName(resp.ErrorCode), got)
	}
	if leader, _, _ := h.partitionState("late", 0); leader != 2 {
		t.Errorf("late-0 after broker 1's controlled shutdown: leader %d; want 2", leader)
	}
}

// TestControlledShutdownLoadTimesOut: a request whose controller does
// not finish loading within the wait is answered REQUEST_TIMED_OUT; the
// broker asks again.
func TestControlledShutdownLoadTimesOut(t *testing.T) {
	h, _ := clusterHarness(t, nil)
	h.failCoord = true
	res, fired := h.coord.Apply(0, core.CoordOp{Kind: core.CoordCreate, Path: "/brokers/topics/x", Data: []byte("{}"), Parents: true})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	h.deliverWatches(fired)
	h.deliverAll() // the reload fails, and is retried later
	req := kmsg.NewPtrControlledShutdownRequest()
	req.BrokerID, req.BrokerEpoch = 1, h.epochOf(1)
	seq := h.send(1, 3, req)
	h.tick(4999)
	h.deliverAll()
	if r := h.response(seq); r != nil {
		t.Fatalf("ControlledShutdown before the wait ended: answered %+v; want no answer yet", r)
	}
	h.tick(1)
	h.deliverAll()
	if resp := h.mustResponse(seq).(*kmsg.ControlledShutdownResponse); resp.ErrorCode != kerr.RequestTimedOut.Code {
		t.Errorf("ControlledShutdown after 5 s without a load: got %s; want REQUEST_TIMED_OUT", codeName(resp.ErrorCode))
	}
}
