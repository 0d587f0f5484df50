package sim

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// admin creates the workload's topic with CreateTopics, retrying across
// lost connections and crashes. A retry that finds the topic already
// there (TOPIC_ALREADY_EXISTS) counts as success: the first attempt did it.
type admin struct {
	w       *world
	cl      *client
	version int16 // CreateTopics version
	done    bool
	asking  bool
}

func (a *admin) start() {
	a.cl.onReady = a.pump
	a.cl.ensureConn()
}

func (a *admin) pump() {
	if a.done || a.asking {
		return
	}
	if !a.cl.ready() {
		a.cl.ensureConn()
		return
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.SetVersion(a.version)
	req.TimeoutMillis = 30000
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = a.w.topic, a.w.partitions, 1
	req.Topics = append(req.Topics, t)
	a.asking = true
	a.cl.send(req, func(r kmsg.Response, err error) {
		a.asking = false
		if err != nil {
			return // pump runs again on reconnect
		}
		resp := r.(*kmsg.CreateTopicsResponse)
		if len(resp.Topics) != 1 {
			a.w.fatalf("admin", "CreateTopics answered %d topics for 1", len(resp.Topics))
			return
		}
		switch code := resp.Topics[0].ErrorCode; {
		case code == 0 || code == kerr.TopicAlreadyExists.Code:
			a.done = true
			a.cl.stopped = true
			a.w.topicReady()
		case kerr.IsRetriable(kerr.ErrorForCode(code)):
			a.w.after(a.cl.backoff(), a.pump)
		default:
			a.w.fatalf("admin", "CreateTopics failed: %s", errName(code))
		}
	})
}
