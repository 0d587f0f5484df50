package console

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The API handlers (API.md). Each runs as the session's principal; the
// broker's answers decide, and their errors map to statuses here.

// statusOf maps an error from the broker or the connection to a status
// and a message: the broker's refusals are 4xx, an unreachable broker
// 503, another broker error 502.
func statusOf(err error) (int, string) {
	var ke *kerr.Error
	var ae *kadm.AuthError
	switch {
	case errors.As(err, &ae):
		return http.StatusForbidden, err.Error()
	case errors.As(err, &ke):
		switch ke {
		case kerr.UnknownTopicOrPartition, kerr.GroupIDNotFound, kerr.UnknownTopicID:
			return http.StatusNotFound, ke.Message
		case kerr.TopicAuthorizationFailed, kerr.GroupAuthorizationFailed, kerr.ClusterAuthorizationFailed,
			kerr.TransactionalIDAuthorizationFailed, kerr.SaslAuthenticationFailed:
			return http.StatusForbidden, ke.Message
		case kerr.TopicAlreadyExists, kerr.NonEmptyGroup, kerr.UnknownMemberID, kerr.RebalanceInProgress, kerr.IllegalGeneration:
			return http.StatusConflict, ke.Message
		case kerr.InvalidConfig, kerr.InvalidRequest, kerr.InvalidPartitions, kerr.InvalidReplicationFactor,
			kerr.InvalidTopicException, kerr.PolicyViolation, kerr.InvalidReplicaAssignment, kerr.OffsetOutOfRange,
			kerr.TopicDeletionDisabled, kerr.InvalidCommitOffsetSize, kerr.OffsetMetadataTooLarge:
			return http.StatusBadRequest, ke.Message
		case kerr.NotController, kerr.CoordinatorNotAvailable, kerr.NotCoordinator, kerr.CoordinatorLoadInProgress,
			kerr.LeaderNotAvailable, kerr.NotLeaderForPartition, kerr.RequestTimedOut, kerr.BrokerNotAvailable:
			return http.StatusServiceUnavailable, ke.Message
		}
		return http.StatusBadGateway, ke.Message
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "the broker did not answer in time"
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, kgo.ErrClientClosed) {
		return http.StatusServiceUnavailable, "cannot reach the broker: " + err.Error()
	}
	return http.StatusBadGateway, err.Error()
}

// failErr answers the status an error maps to, with a message: the
// broker's message when it gave one.
func failErr(w http.ResponseWriter, what string, err error, brokerMsg string) {
	status, msg := statusOf(err)
	if brokerMsg != "" {
		msg += ": " + brokerMsg
	}
	fail(w, status, what+": "+msg)
}

// isAuthFailure says a client's error is the broker refusing its SASL
// credentials.
func isAuthFailure(err error) bool {
	return errors.Is(err, kerr.SaslAuthenticationFailed) || strings.Contains(err.Error(), "SASL_AUTHENTICATION_FAILED")
}

// opNames renders an authorized-operations bit field.
func opNames(bits int32) []string {
	out := []string{}
	if bits == int32(-2147483648) {
		return out // not asked for, or not allowed to know
	}
	for op := kmsg.ACLOperation(3); op <= 14; op++ {
		if bits&(1<<uint(op)) != 0 {
			out = append(out, op.String())
		}
	}
	return out
}

// clusterOperations asks the broker what the session may do on the
// cluster (DescribeCluster with its authorized operations).
func clusterOperations(ctx context.Context, s *session) ([]string, error) {
	req := kmsg.NewPtrDescribeClusterRequest()
	req.IncludeClusterAuthorizedOperations = true
	resp, err := req.RequestWith(ctx, s.client)
	if err != nil {
		return nil, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, err
	}
	return opNames(resp.ClusterAuthorizedOperations), nil
}

type brokerDoc struct {
	ID   int32   `json:"id"`
	Host string  `json:"host"`
	Port int32   `json:"port"`
	Rack *string `json:"rack"`
}

func (c *Console) handleCluster(w http.ResponseWriter, r *http.Request, s *session) {
	req := kmsg.NewPtrDescribeClusterRequest()
	req.IncludeClusterAuthorizedOperations = true
	resp, err := req.RequestWith(r.Context(), s.client)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		failErr(w, "describing the cluster", err, "")
		return
	}
	doc := struct {
		ClusterID  string      `json:"clusterId"`
		Controller int32       `json:"controller"`
		Brokers    []brokerDoc `json:"brokers"`
		Ops        []string    `json:"authorizedOperations"`
	}{ClusterID: resp.ClusterID, Controller: resp.ControllerID, Brokers: []brokerDoc{}, Ops: opNames(resp.ClusterAuthorizedOperations)}
	for _, b := range resp.Brokers {
		doc.Brokers = append(doc.Brokers, brokerDoc{ID: b.NodeID, Host: b.Host, Port: b.Port, Rack: b.Rack})
	}
	sort.Slice(doc.Brokers, func(i, j int) bool { return doc.Brokers[i].ID < doc.Brokers[j].ID })
	reply(w, http.StatusOK, doc)
}

// leaderSizes sums each partition's size on its leader (DescribeLogDirs);
// nil when the session may not describe log directories.
func leaderSizes(ctx context.Context, s *session, topics kadm.TopicDetails) map[string]map[int32]int64 {
	set := kadm.TopicsSet{}
	for name, t := range topics {
		for p := range t.Partitions {
			set.Add(name, p)
		}
	}
	dirs, err := s.adm.DescribeAllLogDirs(ctx, set)
	if err != nil {
		return nil
	}
	out := map[string]map[int32]int64{}
	dirs.Each(func(d kadm.DescribedLogDir) {
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			if t, ok := topics[p.Topic]; ok && t.Partitions[p.Partition].Leader == p.Broker {
				if out[p.Topic] == nil {
					out[p.Topic] = map[int32]int64{}
				}
				out[p.Topic][p.Partition] = p.Size
			}
		})
	})
	return out
}

type topicSummary struct {
	Name              string `json:"name"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replicationFactor"`
	UnderReplicated   int    `json:"underReplicated"`
	Offline           int    `json:"offline"`
	Internal          bool   `json:"internal"`
	SizeBytes         int64  `json:"sizeBytes"`
}

func (c *Console) handleTopics(w http.ResponseWriter, r *http.Request, s *session) {
	topics, err := s.adm.ListTopicsWithInternal(r.Context())
	if err != nil {
		failErr(w, "listing topics", err, "")
		return
	}
	sizes := leaderSizes(r.Context(), s, topics)
	out := []topicSummary{}
	for _, name := range topics.Names() {
		t := topics[name]
		if t.Err != nil {
			continue
		}
		sum := topicSummary{Name: name, Partitions: len(t.Partitions), Internal: t.IsInternal, SizeBytes: -1}
		var size int64
		sized := sizes != nil
		for p, d := range t.Partitions {
			sum.ReplicationFactor = max(sum.ReplicationFactor, len(d.Replicas))
			if len(d.ISR) < len(d.Replicas) {
				sum.UnderReplicated++
			}
			if d.Leader < 0 {
				sum.Offline++
			}
			n, ok := sizes[name][p]
			sized = sized && ok
			size += n
		}
		if sized {
			sum.SizeBytes = size
		}
		out = append(out, sum)
	}
	reply(w, http.StatusOK, map[string]any{"topics": out})
}

type createTopicRequest struct {
	Name              string            `json:"name"`
	Partitions        int32             `json:"partitions"`
	ReplicationFactor int16             `json:"replicationFactor"`
	Configs           map[string]string `json:"configs"`
}

func (c *Console) handleCreateTopic(w http.ResponseWriter, r *http.Request, s *session) {
	var req createTopicRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Name == "" {
		fail(w, http.StatusBadRequest, "a topic needs a name")
		return
	}
	if req.Partitions == 0 {
		req.Partitions = -1 // the broker's num.partitions
	}
	if req.ReplicationFactor == 0 {
		req.ReplicationFactor = -1 // the broker's default.replication.factor
	}
	configs := map[string]*string{}
	for k, v := range req.Configs {
		configs[k] = kadm.StringPtr(v)
	}
	resp, err := s.adm.CreateTopic(r.Context(), req.Partitions, req.ReplicationFactor, configs, req.Name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		failErr(w, "creating topic "+req.Name, err, resp.ErrMessage)
		return
	}
	c.opts.Logf("console: %s created topic %s", s.principal, req.Name)
	// Answer once the broker lists it, so that the page's next read
	// shows it (metadata follows the creation a moment later).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if topics, err := s.adm.ListTopics(r.Context(), req.Name); err == nil && topics.Has(req.Name) && topics[req.Name].Err == nil {
			break
		}
	}
	reply(w, http.StatusCreated, map[string]string{"name": req.Name})
}

type partitionDoc struct {
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
	Offline     bool    `json:"offline"`
	StartOffset int64   `json:"startOffset"`
	EndOffset   int64   `json:"endOffset"`
	SizeBytes   int64   `json:"sizeBytes"`
	Error       string  `json:"error,omitempty"`
}

type configDoc struct {
	Name          string  `json:"name"`
	Value         *string `json:"value"`
	Source        string  `json:"source"`
	ReadOnly      bool    `json:"readOnly"`
	Sensitive     bool    `json:"sensitive"`
	Documentation *string `json:"documentation"`
}

// topicConfigs describes a topic's configs with their documentation.
func topicConfigs(ctx context.Context, s *session, name string) ([]configDoc, error) {
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeDocumentation = true
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, name
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, s.client)
	if err != nil {
		return nil, err
	}
	if len(resp.Resources) != 1 {
		return nil, fmt.Errorf("the broker described %d resources for 1", len(resp.Resources))
	}
	if err := kerr.ErrorForCode(resp.Resources[0].ErrorCode); err != nil {
		return nil, err
	}
	out := []configDoc{}
	for _, cfg := range resp.Resources[0].Configs {
		out = append(out, configDoc{Name: cfg.Name, Value: cfg.Value, Source: cfg.Source.String(), ReadOnly: cfg.ReadOnly,
			Sensitive: cfg.IsSensitive, Documentation: cfg.Documentation})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// describeTopic is one topic's detail; status and message when it
// cannot be had.
func describeTopic(ctx context.Context, s *session, name string) (any, error) {
	topics, err := s.adm.ListTopicsWithInternal(kadm.WithAuthorizedOps(ctx), name)
	if err != nil {
		return nil, err
	}
	t, ok := topics[name]
	if !ok {
		return nil, kerr.UnknownTopicOrPartition
	}
	if t.Err != nil {
		return nil, t.Err
	}
	starts, _ := s.adm.ListStartOffsets(ctx, name)
	ends, _ := s.adm.ListEndOffsets(ctx, name)
	sizes := leaderSizes(ctx, s, topics)
	configs, err := topicConfigs(ctx, s, name)
	if err != nil {
		configs = []configDoc{} // no DescribeConfigs on it: the rest still shows
	}
	ops := []string{}
	for _, op := range t.AuthorizedOperations {
		ops = append(ops, op.String())
	}
	doc := struct {
		Name       string         `json:"name"`
		ID         string         `json:"id"`
		Internal   bool           `json:"internal"`
		Ops        []string       `json:"authorizedOperations"`
		Partitions []partitionDoc `json:"partitions"`
		Configs    []configDoc    `json:"configs"`
	}{Name: name, ID: base64.RawURLEncoding.EncodeToString(t.ID[:]), Internal: t.IsInternal, Ops: ops, Partitions: []partitionDoc{}, Configs: configs}
	for _, d := range t.Partitions.Sorted() {
		p := partitionDoc{Partition: d.Partition, Leader: d.Leader, Replicas: nonNil(d.Replicas), ISR: nonNil(d.ISR),
			Offline: d.Leader < 0, StartOffset: -1, EndOffset: -1, SizeBytes: -1}
		if d.Err != nil {
			p.Error = d.Err.Error()
		}
		if o, ok := starts.Lookup(name, d.Partition); ok && o.Err == nil {
			p.StartOffset = o.Offset
		}
		if o, ok := ends.Lookup(name, d.Partition); ok && o.Err == nil {
			p.EndOffset = o.Offset
		}
		if n, ok := sizes[name][d.Partition]; ok {
			p.SizeBytes = n
		}
		doc.Partitions = append(doc.Partitions, p)
	}
	return doc, nil
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

func (c *Console) handleTopic(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	doc, err := describeTopic(r.Context(), s, name)
	if err != nil {
		failErr(w, "topic "+name, err, "")
		return
	}
	reply(w, http.StatusOK, doc)
}

func (c *Console) handleDeleteTopic(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	resp, err := s.adm.DeleteTopic(r.Context(), name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		failErr(w, "deleting topic "+name, err, resp.ErrMessage)
		return
	}
	c.opts.Logf("console: %s deleted topic %s", s.principal, name)
	w.WriteHeader(http.StatusNoContent)
}

func (c *Console) handleAddPartitions(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	var req struct {
		Count int `json:"count"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Count <= 0 {
		fail(w, http.StatusBadRequest, "count must be the new, larger number of partitions")
		return
	}
	resps, err := s.adm.UpdatePartitions(r.Context(), req.Count, name)
	var msg string
	if err == nil {
		var resp kadm.CreatePartitionsResponse
		resp, err = resps.On(name, nil)
		if err == nil {
			err, msg = resp.Err, resp.ErrMessage
		}
	}
	if err != nil {
		failErr(w, "adding partitions to "+name, err, msg)
		return
	}
	c.opts.Logf("console: %s grew topic %s to %d partitions", s.principal, name, req.Count)
	reply(w, http.StatusOK, map[string]int{"partitions": req.Count})
}

func (c *Console) handleAlterConfigs(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	var req struct {
		Set    map[string]string `json:"set"`
		Delete []string          `json:"delete"`
	}
	if !decode(w, r, &req) {
		return
	}
	var ops []kadm.AlterConfig
	for _, k := range sortedKeys(req.Set) {
		ops = append(ops, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: kadm.StringPtr(req.Set[k])})
	}
	for _, k := range req.Delete {
		ops = append(ops, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	if len(ops) == 0 {
		fail(w, http.StatusBadRequest, "nothing to change: give set and/or delete")
		return
	}
	resps, err := s.adm.AlterTopicConfigs(r.Context(), ops, name)
	var msg string
	if err == nil {
		var resp kadm.AlterConfigsResponse
		resp, err = resps.On(name, nil)
		if err == nil {
			err, msg = resp.Err, resp.ErrMessage
		}
	}
	if err != nil {
		failErr(w, "changing the configuration of "+name, err, msg)
		return
	}
	c.opts.Logf("console: %s changed the configuration of topic %s", s.principal, name)
	configs, err := topicConfigs(r.Context(), s, name)
	if err != nil {
		failErr(w, "describing the configuration of "+name, err, "")
		return
	}
	reply(w, http.StatusOK, map[string]any{"configs": configs})
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type groupSummary struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	ProtocolType string `json:"protocolType"`
	Members      int    `json:"members"`
	Lag          *int64 `json:"lag"`
}

// totalLag sums a group's lag over its committed partitions; nil without
// any.
func totalLag(l kadm.GroupLag) *int64 {
	var sum int64
	any := false
	for _, ps := range l {
		for _, m := range ps {
			if m.Commit.At >= 0 && m.Err == nil {
				sum += max(m.Lag, 0)
				any = true
			}
		}
	}
	if !any {
		return nil
	}
	return &sum
}

func (c *Console) handleGroups(w http.ResponseWriter, r *http.Request, s *session) {
	listed, err := s.adm.ListGroups(r.Context())
	if err != nil {
		failErr(w, "listing groups", err, "")
		return
	}
	out := []groupSummary{}
	ids := listed.Groups()
	sort.Strings(ids)
	lags, _ := s.adm.Lag(r.Context(), ids...)
	for _, id := range ids {
		g := groupSummary{ID: id, State: listed[id].State, ProtocolType: listed[id].ProtocolType}
		if l, ok := lags[id]; ok && l.Error() == nil {
			g.State, g.Members, g.Lag = l.State, len(l.Members), totalLag(l.Lag)
		}
		out = append(out, g)
	}
	reply(w, http.StatusOK, map[string]any{"groups": out})
}

type memberDoc struct {
	MemberID    string          `json:"memberId"`
	InstanceID  *string         `json:"instanceId"`
	ClientID    string          `json:"clientId"`
	Host        string          `json:"host"`
	Assignments []assignmentDoc `json:"assignments"`
}

type assignmentDoc struct {
	Topic      string  `json:"topic"`
	Partitions []int32 `json:"partitions"`
}

type offsetDoc struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"`
	End       int64  `json:"end"`
	Lag       int64  `json:"lag"`
	Metadata  string `json:"metadata"`
}

func (c *Console) handleGroup(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	lags, err := s.adm.Lag(r.Context(), id)
	if err != nil {
		failErr(w, "group "+id, err, "")
		return
	}
	l, ok := lags[id]
	if !ok {
		fail(w, http.StatusNotFound, "group "+id+": unknown")
		return
	}
	if err := l.Error(); err != nil {
		failErr(w, "group "+id, err, "")
		return
	}
	if l.State == "Dead" && len(l.Lag) == 0 {
		fail(w, http.StatusNotFound, "group "+id+": unknown (no members and no committed offsets)")
		return
	}
	doc := struct {
		ID           string      `json:"id"`
		State        string      `json:"state"`
		ProtocolType string      `json:"protocolType"`
		Protocol     string      `json:"protocol"`
		Members      []memberDoc `json:"members"`
		Offsets      []offsetDoc `json:"offsets"`
		Lag          *int64      `json:"lag"`
	}{ID: id, State: l.State, ProtocolType: l.ProtocolType, Protocol: l.Protocol, Members: []memberDoc{}, Offsets: []offsetDoc{}, Lag: totalLag(l.Lag)}
	for _, m := range l.Members {
		md := memberDoc{MemberID: m.MemberID, InstanceID: m.InstanceID, ClientID: m.ClientID, Host: m.ClientHost, Assignments: []assignmentDoc{}}
		if ca, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range ca.Topics {
				md.Assignments = append(md.Assignments, assignmentDoc{Topic: t.Topic, Partitions: nonNil(t.Partitions)})
			}
		}
		doc.Members = append(doc.Members, md)
	}
	for _, m := range l.Lag.Sorted() {
		if m.Commit.At < 0 {
			continue
		}
		doc.Offsets = append(doc.Offsets, offsetDoc{Topic: m.Topic, Partition: m.Partition, Committed: m.Commit.At,
			End: m.End.Offset, Lag: max(m.Lag, 0), Metadata: m.Commit.Metadata})
	}
	reply(w, http.StatusOK, doc)
}

type resetRequest struct {
	Topic string `json:"topic"`
	To    string `json:"to"`
	Value int64  `json:"value"`
}

// handleResetGroup moves an empty group's committed offsets, as
// kafka-consumer-groups --reset-offsets does.
func (c *Console) handleResetGroup(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var req resetRequest
	if !decode(w, r, &req) {
		return
	}
	switch req.To {
	case "earliest", "latest", "offset", "timestamp":
	default:
		fail(w, http.StatusBadRequest, fmt.Sprintf("to must be earliest, latest, offset or timestamp, not %q", req.To))
		return
	}
	if req.To == "offset" && req.Value < 0 {
		fail(w, http.StatusBadRequest, "an offset is not negative")
		return
	}
	ctx := r.Context()
	described, err := s.adm.DescribeGroups(ctx, id)
	if err == nil {
		err = described.Error()
	}
	if err != nil {
		failErr(w, "group "+id, err, "")
		return
	}
	if g := described[id]; g.State != "Empty" && g.State != "Dead" {
		fail(w, http.StatusConflict, fmt.Sprintf("group %s is %s with %d members: stop its consumers first", id, g.State, len(g.Members)))
		return
	}
	committed, err := s.adm.FetchOffsets(ctx, id)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		failErr(w, "the offsets of group "+id, err, "")
		return
	}
	var topics []string
	if req.Topic != "" {
		topics = []string{req.Topic}
	} else {
		seen := map[string]bool{}
		committed.Each(func(o kadm.OffsetResponse) {
			if !seen[o.Topic] {
				seen[o.Topic] = true
				topics = append(topics, o.Topic)
			}
		})
		sort.Strings(topics)
	}
	if len(topics) == 0 {
		fail(w, http.StatusBadRequest, "group "+id+" has no committed offsets: name a topic")
		return
	}
	var listed kadm.ListedOffsets
	switch req.To {
	case "earliest":
		listed, err = s.adm.ListStartOffsets(ctx, topics...)
	case "latest", "offset":
		listed, err = s.adm.ListEndOffsets(ctx, topics...)
	case "timestamp":
		listed, err = s.adm.ListOffsetsAfterMilli(ctx, req.Value, topics...)
	}
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		failErr(w, "listing offsets", err, "")
		return
	}
	offsets := kadm.Offsets{}
	type moved struct {
		Topic     string `json:"topic"`
		Partition int32  `json:"partition"`
		Offset    int64  `json:"offset"`
	}
	out := []moved{}
	listed.Each(func(o kadm.ListedOffset) {
		at := o.Offset
		if req.To == "offset" {
			at = min(req.Value, o.Offset) // never past the end
		}
		offsets.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: at, LeaderEpoch: -1})
		out = append(out, moved{o.Topic, o.Partition, at})
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	resps, err := s.adm.CommitOffsets(ctx, id, offsets)
	if err == nil {
		err = resps.Error()
	}
	if err != nil {
		failErr(w, "committing the new offsets of "+id, err, "")
		return
	}
	c.opts.Logf("console: %s reset the offsets of group %s to %s", s.principal, id, req.To)
	reply(w, http.StatusOK, map[string]any{"offsets": out})
}

type headerDoc struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

type messageDoc struct {
	Offset    int64       `json:"offset"`
	Timestamp int64       `json:"timestamp"`
	Key       *string     `json:"key"`
	Value     *string     `json:"value"`
	Headers   []headerDoc `json:"headers"`
}

func b64(b []byte) *string {
	if b == nil {
		return nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s
}

const (
	messagesLimitDefault = 20
	messagesLimitMax     = 200
	messagesWaitMax      = 5 * time.Second
)

// handleMessages reads up to limit records of one partition from an
// offset, or from the first at or after a time, up to the high
// watermark.
func (c *Console) handleMessages(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	q := r.URL.Query()
	intParam := func(key string, lo, hi int64) (int64, bool, error) {
		v := q.Get(key)
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			return 0, true, fmt.Errorf("%s=%q: want a whole number from %d to %d", key, v, lo, hi)
		}
		return n, true, nil
	}
	partition, hasPartition, err := intParam("partition", 0, 1<<31-1)
	if err == nil && !hasPartition {
		err = errors.New("partition is required")
	}
	offset, hasOffset, err2 := intParam("offset", 0, 1<<62)
	ts, hasTime, err3 := intParam("timestamp", 0, 1<<62)
	limit, hasLimit, err4 := intParam("limit", 1, messagesLimitMax)
	err = errors.Join(err, err2, err3, err4)
	if err == nil && hasOffset == hasTime {
		err = errors.New("give exactly one of offset and timestamp")
	}
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if !hasLimit {
		limit = messagesLimitDefault
	}
	ctx := r.Context()
	p := int32(partition)
	starts, err := s.adm.ListStartOffsets(ctx, name)
	var start, end kadm.ListedOffset
	if err == nil {
		var ok bool
		if start, ok = starts.Lookup(name, p); !ok {
			err = kerr.UnknownTopicOrPartition
		} else {
			err = start.Err
		}
	}
	if err == nil {
		var ends kadm.ListedOffsets
		if ends, err = s.adm.ListEndOffsets(ctx, name); err == nil {
			end, _ = ends.Lookup(name, p)
			err = end.Err
		}
	}
	if err == nil && hasTime {
		var at kadm.ListedOffsets
		if at, err = s.adm.ListOffsetsAfterMilli(ctx, ts, name); err == nil {
			o, _ := at.Lookup(name, p)
			offset, err = o.Offset, o.Err
		}
	}
	if err != nil {
		failErr(w, fmt.Sprintf("topic %s partition %d", name, p), err, "")
		return
	}
	offset = max(offset, start.Offset)
	doc := struct {
		Partition   int32        `json:"partition"`
		StartOffset int64        `json:"startOffset"`
		EndOffset   int64        `json:"endOffset"`
		Messages    []messageDoc `json:"messages"`
	}{Partition: p, StartOffset: start.Offset, EndOffset: end.Offset, Messages: []messageDoc{}}
	if offset < end.Offset {
		msgs, err := c.readPartition(ctx, s, name, p, offset, min(end.Offset, offset+limit))
		if err != nil {
			failErr(w, fmt.Sprintf("reading topic %s partition %d", name, p), err, "")
			return
		}
		doc.Messages = msgs
	}
	reply(w, http.StatusOK, doc)
}

// readPartition consumes [from, until) of one partition as the session's
// principal (a short-lived client, no group), bounded in time.
func (c *Console) readPartition(ctx context.Context, s *session, topic string, p int32, from, until int64) ([]messageDoc, error) {
	opts := append(append([]kgo.Opt{}, s.opts...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {p: kgo.NewOffset().At(from)}}), kgo.FetchMaxWait(500*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, messagesWaitMax)
	defer cancel()
	out := []messageDoc{}
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			if len(out) > 0 {
				return out, nil // what arrived in time
			}
			return nil, ctx.Err()
		}
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return nil, ferr
		}
		done := false
		fetches.EachRecord(func(rec *kgo.Record) {
			if done || rec.Offset < from {
				return
			}
			if rec.Offset >= until {
				done = true
				return
			}
			m := messageDoc{Offset: rec.Offset, Timestamp: rec.Timestamp.UnixMilli(), Key: b64(rec.Key), Value: b64(rec.Value), Headers: []headerDoc{}}
			for _, h := range rec.Headers {
				m.Headers = append(m.Headers, headerDoc{Key: h.Key, Value: b64(h.Value)})
			}
			out = append(out, m)
			done = rec.Offset+1 >= until
		})
		if done {
			return out, nil
		}
	}
}
