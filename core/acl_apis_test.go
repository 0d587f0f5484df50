package core_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
)

// authCase is one request an API key is checked with: built fresh by
// req, answered with the authorization error code(s) the response
// carries (codes), and the code a principal without any ACL must get
// (0: the API needs no authorization).
type authCase struct {
	what    string
	version int16
	req     func() kmsg.Request
	codes   func(kmsg.Response) []int16
	want    int16
}

var (
	topicAuth   = kerr.TopicAuthorizationFailed.Code
	groupAuth   = kerr.GroupAuthorizationFailed.Code
	clusterAuth = kerr.ClusterAuthorizationFailed.Code
	txnAuth     = kerr.TransactionalIDAuthorizationFailed.Code
)

// apiAuthCases lists, per API key, the requests the authorization table
// test sends. Every key the broker serves must have one: a new API
// cannot skip authorization unnoticed.
func apiAuthCases() map[int16][]authCase {
	str := kmsg.StringPtr
	return map[int16][]authCase{
		0: {{"Produce: Write on the topic", 9, func() kmsg.Request {
			return produceReq("t", 0, 1, makeBatch(batchOpts{}))
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode}
		}, topicAuth}},
		1: {{"Fetch: Read on the topic", 11, func() kmsg.Request {
			return fetchReq("t", 0, 0, 0, 1)
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode}
		}, topicAuth}, {"Fetch by a follower: ClusterAction", 11, func() kmsg.Request {
			req := fetchReq("t", 0, 0, 0, 1)
			req.ReplicaID = 2
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode}
		}, topicAuth}},
		2: {{"ListOffsets: Describe on the topic", 5, func() kmsg.Request {
			req := kmsg.NewPtrListOffsetsRequest()
			t := kmsg.NewListOffsetsRequestTopic()
			t.Topic = "t"
			p := kmsg.NewListOffsetsRequestTopicPartition()
			p.Timestamp = -1
			t.Partitions = append(t.Partitions, p)
			req.Topics = append(req.Topics, t)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].ErrorCode}
		}, topicAuth}},
		3: {{"Metadata: Describe on the topic", 9, func() kmsg.Request {
			req := kmsg.NewPtrMetadataRequest()
			t := kmsg.NewMetadataRequestTopic()
			t.Topic = str("t")
			req.Topics = append(req.Topics, t)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.MetadataResponse).Topics[0].ErrorCode}
		}, topicAuth}},
		4: {{"LeaderAndIsr: ClusterAction", 7, func() kmsg.Request {
			req := kmsg.NewPtrLeaderAndISRRequest()
			req.ControllerID, req.ControllerEpoch = 9, 99
			return req
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.LeaderAndISRResponse).ErrorCode} }, clusterAuth}},
		5: {{"StopReplica: ClusterAction", 4, func() kmsg.Request {
			req := kmsg.NewPtrStopReplicaRequest()
			req.ControllerID, req.ControllerEpoch = 9, 99
			return req
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.StopReplicaResponse).ErrorCode} }, clusterAuth}},
		6: {{"UpdateMetadata: ClusterAction", 8, func() kmsg.Request {
			req := kmsg.NewPtrUpdateMetadataRequest()
			req.ControllerID, req.ControllerEpoch = 9, 99
			return req
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.UpdateMetadataResponse).ErrorCode} }, clusterAuth}},
		7: {{"ControlledShutdown: ClusterAction", 3, func() kmsg.Request {
			req := kmsg.NewPtrControlledShutdownRequest()
			req.BrokerID, req.BrokerEpoch = 7, 1
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.ControlledShutdownResponse).ErrorCode}
		}, clusterAuth}},
		8: {{"OffsetCommit: Read on the group", 8, func() kmsg.Request {
			req := kmsg.NewPtrOffsetCommitRequest()
			req.Group, req.Generation = "g", -1
			t := kmsg.NewOffsetCommitRequestTopic()
			t.Topic = "t"
			p := kmsg.NewOffsetCommitRequestTopicPartition()
			p.Offset = 1
			t.Partitions = append(t.Partitions, p)
			req.Topics = append(req.Topics, t)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode}
		}, groupAuth}},
		9: {{"OffsetFetch: Describe on the group", 7, func() kmsg.Request {
			req := kmsg.NewPtrOffsetFetchRequest()
			req.Group = "g"
			return req
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.OffsetFetchResponse).ErrorCode} }, groupAuth}},
		10: {{"FindCoordinator: Describe on the group", 3, func() kmsg.Request {
			req := kmsg.NewPtrFindCoordinatorRequest()
			req.CoordinatorKey = "g"
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.FindCoordinatorResponse).ErrorCode}
		}, groupAuth}, {"FindCoordinator: Describe on the transactional id", 4, func() kmsg.Request {
			req := kmsg.NewPtrFindCoordinatorRequest()
			req.CoordinatorType, req.CoordinatorKeys = 1, []string{"tx"}
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.FindCoordinatorResponse).Coordinators[0].ErrorCode}
		}, txnAuth}},
		11: {{"JoinGroup: Read on the group", 5, func() kmsg.Request {
			req := kmsg.NewPtrJoinGroupRequest()
			req.Group, req.ProtocolType, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = "g", "consumer", 10000, 10000
			p := kmsg.NewJoinGroupRequestProtocol()
			p.Name = "range"
			req.Protocols = append(req.Protocols, p)
			return req
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.JoinGroupResponse).ErrorCode} }, groupAuth}},
		12: {{"Heartbeat: Read on the group", 3, func() kmsg.Request {
			req := kmsg.NewPtrHeartbeatRequest()
			req.Group, req.MemberID = "g", "m"
			return req
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.HeartbeatResponse).ErrorCode} }, groupAuth}},
		13: {{"LeaveGroup: Read on the group", 1, func() kmsg.Request {
			req := kmsg.NewPtrLeaveGroupRequest()
			req.Group, req.MemberID = "g", "m"
			return req
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.LeaveGroupResponse).ErrorCode} }, groupAuth}},
		14: {{"SyncGroup: Read on the group", 3, func() kmsg.Request {
			req := kmsg.NewPtrSyncGroupRequest()
			req.Group, req.MemberID = "g", "m"
			return req
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.SyncGroupResponse).ErrorCode} }, groupAuth}},
		15: {{"DescribeGroups: Describe on the group", 3, func() kmsg.Request {
			req := kmsg.NewPtrDescribeGroupsRequest()
			req.Groups = []string{"g"}
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.DescribeGroupsResponse).Groups[0].ErrorCode}
		}, groupAuth}},
		16: {{"ListGroups: filtered, never refused", 3, func() kmsg.Request {
			return kmsg.NewPtrListGroupsRequest()
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.ListGroupsResponse).ErrorCode} }, 0}},
		17: {{"SaslHandshake: before authorization", 1, func() kmsg.Request {
			req := kmsg.NewPtrSASLHandshakeRequest()
			req.Mechanism = "PLAIN"
			return req
		}, nil, 0}},
		18: {{"ApiVersions: before authorization", 3, func() kmsg.Request {
			return kmsg.NewPtrApiVersionsRequest()
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.ApiVersionsResponse).ErrorCode} }, 0}},
		19: {{"CreateTopics: Create on the cluster or topic", 5, func() kmsg.Request {
			req := kmsg.NewPtrCreateTopicsRequest()
			t := kmsg.NewCreateTopicsRequestTopic()
			t.Topic, t.NumPartitions, t.ReplicationFactor = "new", 1, 1
			req.Topics = append(req.Topics, t)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode}
		}, topicAuth}},
		20: {{"DeleteTopics: Delete on the topic", 5, func() kmsg.Request {
			req := kmsg.NewPtrDeleteTopicsRequest()
			req.TopicNames = []string{"t"}
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode}
		}, topicAuth}},
		22: {{"InitProducerId: IdempotentWrite on the cluster or Write on a topic", 4, func() kmsg.Request {
			return kmsg.NewPtrInitProducerIDRequest()
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.InitProducerIDResponse).ErrorCode} }, clusterAuth}},
		23: {{"OffsetForLeaderEpoch: Describe on the topic", 4, func() kmsg.Request {
			req := kmsg.NewPtrOffsetForLeaderEpochRequest()
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = "t"
			p := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
			t.Partitions = append(t.Partitions, p)
			req.Topics = append(req.Topics, t)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0].ErrorCode}
		}, topicAuth}},
		29: {{"DescribeAcls: Describe on the cluster", 3, func() kmsg.Request {
			req := kmsg.NewPtrDescribeACLsRequest()
			req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
			req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			return req
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.DescribeACLsResponse).ErrorCode} }, clusterAuth}},
		30: {{"CreateAcls: Alter on the cluster", 3, func() kmsg.Request {
			req := kmsg.NewPtrCreateACLsRequest()
			c := kmsg.NewCreateACLsRequestCreation()
			c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, "t", kmsg.ACLResourcePatternTypeLiteral
			c.Principal, c.Host, c.Operation, c.PermissionType = "User:nobody", "*", kmsg.ACLOperationAll, kmsg.ACLPermissionTypeAllow
			req.Creations = append(req.Creations, c)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.CreateACLsResponse).Results[0].ErrorCode}
		}, clusterAuth}},
		31: {{"DeleteAcls: Alter on the cluster", 3, func() kmsg.Request {
			req := kmsg.NewPtrDeleteACLsRequest()
			f := kmsg.NewDeleteACLsRequestFilter()
			f.ResourceType, f.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
			f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			req.Filters = append(req.Filters, f)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.DeleteACLsResponse).Results[0].ErrorCode}
		}, clusterAuth}},
		32: {{"DescribeConfigs: DescribeConfigs on the topic", 4, func() kmsg.Request {
			req := kmsg.NewPtrDescribeConfigsRequest()
			res := kmsg.NewDescribeConfigsRequestResource()
			res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
			req.Resources = append(req.Resources, res)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.DescribeConfigsResponse).Resources[0].ErrorCode}
		}, topicAuth}, {"DescribeConfigs: DescribeConfigs on the cluster for a broker", 4, func() kmsg.Request {
			req := kmsg.NewPtrDescribeConfigsRequest()
			res := kmsg.NewDescribeConfigsRequestResource()
			res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
			req.Resources = append(req.Resources, res)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.DescribeConfigsResponse).Resources[0].ErrorCode}
		}, clusterAuth}},
		33: {{"AlterConfigs: AlterConfigs on the topic", 2, func() kmsg.Request {
			req := kmsg.NewPtrAlterConfigsRequest()
			res := kmsg.NewAlterConfigsRequestResource()
			res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
			c := kmsg.NewAlterConfigsRequestResourceConfig()
			c.Name, c.Value = "retention.ms", str("60000")
			res.Configs = append(res.Configs, c)
			req.Resources = append(req.Resources, res)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.AlterConfigsResponse).Resources[0].ErrorCode}
		}, topicAuth}, {"AlterConfigs: AlterConfigs on the cluster for a broker", 2, func() kmsg.Request {
			req := kmsg.NewPtrAlterConfigsRequest()
			res := kmsg.NewAlterConfigsRequestResource()
			res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, ""
			c := kmsg.NewAlterConfigsRequestResourceConfig()
			c.Name, c.Value = "log.retention.bytes", str("1000000")
			res.Configs = append(res.Configs, c)
			req.Resources = append(req.Resources, res)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.AlterConfigsResponse).Resources[0].ErrorCode}
		}, clusterAuth}},
		44: {{"IncrementalAlterConfigs: AlterConfigs on the topic", 1, func() kmsg.Request {
			req := kmsg.NewPtrIncrementalAlterConfigsRequest()
			res := kmsg.NewIncrementalAlterConfigsRequestResource()
			res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, "t"
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Value = "retention.ms", str("60000")
			res.Configs = append(res.Configs, c)
			req.Resources = append(req.Resources, res)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode}
		}, topicAuth}, {"IncrementalAlterConfigs: AlterConfigs on the cluster for a broker", 1, func() kmsg.Request {
			req := kmsg.NewPtrIncrementalAlterConfigsRequest()
			res := kmsg.NewIncrementalAlterConfigsRequestResource()
			res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Op = "log.retention.bytes", kmsg.IncrementalAlterConfigOpDelete
			res.Configs = append(res.Configs, c)
			req.Resources = append(req.Resources, res)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode}
		}, clusterAuth}},
		35: {{"DescribeLogDirs: Describe on the cluster", 4, func() kmsg.Request {
			return kmsg.NewPtrDescribeLogDirsRequest()
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.DescribeLogDirsResponse).ErrorCode} }, clusterAuth}},
		36: {{"SaslAuthenticate: before authorization", 2, func() kmsg.Request {
			return kmsg.NewPtrSASLAuthenticateRequest()
		}, nil, 0}},
		37: {{"CreatePartitions: Alter on the topic", 3, func() kmsg.Request {
			req := kmsg.NewPtrCreatePartitionsRequest()
			t := kmsg.NewCreatePartitionsRequestTopic()
			t.Topic, t.Count = "t", 2
			req.Topics = append(req.Topics, t)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode}
		}, topicAuth}},
		42: {{"DeleteGroups: Delete on the group", 2, func() kmsg.Request {
			req := kmsg.NewPtrDeleteGroupsRequest()
			req.Groups = []string{"g"}
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode}
		}, groupAuth}},
		43: {{"ElectLeaders: Alter on the cluster", 2, func() kmsg.Request {
			req := kmsg.NewPtrElectLeadersRequest()
			t := kmsg.NewElectLeadersRequestTopic()
			t.Topic, t.Partitions = "t", []int32{0}
			req.Topics = append(req.Topics, t)
			return req
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.ElectLeadersResponse).ErrorCode} }, clusterAuth}},
		45: {{"AlterPartitionReassignments: Alter on the cluster", 0, func() kmsg.Request {
			return kmsg.NewPtrAlterPartitionAssignmentsRequest()
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.AlterPartitionAssignmentsResponse).ErrorCode}
		}, clusterAuth}},
		46: {{"ListPartitionReassignments: Describe on the cluster", 0, func() kmsg.Request {
			return kmsg.NewPtrListPartitionReassignmentsRequest()
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.ListPartitionReassignmentsResponse).ErrorCode}
		}, clusterAuth}},
		47: {{"OffsetDelete: Delete on the group", 0, func() kmsg.Request {
			req := kmsg.NewPtrOffsetDeleteRequest()
			req.Group = "g"
			return req
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.OffsetDeleteResponse).ErrorCode} }, groupAuth}},
		48: {{"DescribeClientQuotas: DescribeConfigs on the cluster", 1, func() kmsg.Request {
			return kmsg.NewPtrDescribeClientQuotasRequest()
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.DescribeClientQuotasResponse).ErrorCode} }, clusterAuth}},
		49: {{"AlterClientQuotas: AlterConfigs on the cluster", 1, func() kmsg.Request {
			req := kmsg.NewPtrAlterClientQuotasRequest()
			e := kmsg.NewAlterClientQuotasRequestEntry()
			ent := kmsg.NewAlterClientQuotasRequestEntryEntity()
			ent.Type, ent.Name = "user", kmsg.StringPtr("alice")
			op := kmsg.NewAlterClientQuotasRequestEntryOp()
			op.Key, op.Value = "producer_byte_rate", 1024
			e.Entity, e.Ops = append(e.Entity, ent), append(e.Ops, op)
			req.Entries = append(req.Entries, e)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.AlterClientQuotasResponse).Entries[0].ErrorCode}
		}, clusterAuth}},
		50: {{"DescribeUserScramCredentials: Describe on the cluster", 0, func() kmsg.Request {
			return kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.DescribeUserSCRAMCredentialsResponse).ErrorCode}
		}, clusterAuth}},
		51: {{"AlterUserScramCredentials: Alter on the cluster", 0, func() kmsg.Request {
			req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
			d := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
			d.Name, d.Mechanism = "alice", 1
			req.Deletions = append(req.Deletions, d)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.AlterUserSCRAMCredentialsResponse).Results[0].ErrorCode}
		}, clusterAuth}},
		21: {{"DeleteRecords: Delete on the topic", 2, func() kmsg.Request {
			req := kmsg.NewPtrDeleteRecordsRequest()
			req.TimeoutMillis = 1000
			t := kmsg.NewDeleteRecordsRequestTopic()
			t.Topic = "t"
			p := kmsg.NewDeleteRecordsRequestTopicPartition()
			p.Offset = -1
			t.Partitions = append(t.Partitions, p)
			req.Topics = append(req.Topics, t)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0].ErrorCode}
		}, topicAuth}},
		61: {{"DescribeProducers: Read on the topic", 0, func() kmsg.Request {
			req := kmsg.NewPtrDescribeProducersRequest()
			t := kmsg.NewDescribeProducersRequestTopic()
			t.Topic, t.Partitions = "t", []int32{0}
			req.Topics = append(req.Topics, t)
			return req
		}, func(r kmsg.Response) []int16 {
			return []int16{r.(*kmsg.DescribeProducersResponse).Topics[0].Partitions[0].ErrorCode}
		}, topicAuth}},
		60: {{"DescribeCluster: needs none (authorized operations only when asked)", 1, func() kmsg.Request {
			return kmsg.NewPtrDescribeClusterRequest()
		}, func(r kmsg.Response) []int16 { return []int16{r.(*kmsg.DescribeClusterResponse).ErrorCode} }, 0}},
	}
}

// TestEveryAPIAuthorizes sends every API key the broker advertises in
// ApiVersions, as a principal without any ACL, and checks the
// authorization error Kafka answers; the same requests from a super user
// carry no authorization error. A key without a case fails the test, so
// a new API cannot skip authorization.
func TestEveryAPIAuthorizes(t *testing.T) {
	cases := apiAuthCases()
	for _, api := range core.SupportedAPIs() {
		if _, ok := cases[api.ApiKey]; !ok {
			t.Errorf("API key %d is served but has no authorization case", api.ApiKey)
		}
	}
	served := map[int16]bool{}
	for _, api := range core.SupportedAPIs() {
		served[api.ApiKey] = true
	}
	for key := range cases {
		if !served[key] {
			t.Errorf("authorization case for API key %d, which is not served", key)
		}
	}
	authCodes := map[int16]bool{topicAuth: true, groupAuth: true, clusterAuth: true, txnAuth: true}
	for _, who := range []struct {
		principal string
		denied    bool
	}{{"User:nobody", true}, {"User:admin", false}} {
		h := newHarness(t, map[string]string{"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
			"super.users": "User:ANONYMOUS;User:admin"})
		h.tick(1)
		h.deliverAll()
		h.createTopic("t", 1, nil)
		for key := int16(0); key < 100; key++ {
			for _, c := range cases[key] {
				seq, _ := h.sendAs(aclClient{who.principal, "/127.0.0.1"}, c.version, c.req())
				h.deliverAll()
				h.tick(1)
				h.deliverAll()
				if c.codes == nil {
					continue // answered by the SASL state machine, or closed: no authorization there
				}
				resp := h.response(seq)
				if resp == nil {
					t.Errorf("%s (%s): no response", c.what, who.principal)
					continue
				}
				got := c.codes(resp)
				switch {
				case who.denied && c.want != 0 && got[0] != c.want:
					t.Errorf("%s as %s: got error %d; want %d", c.what, who.principal, got[0], c.want)
				case (!who.denied || c.want == 0) && authCodes[got[0]]:
					t.Errorf("%s as %s: got authorization error %d; want none", c.what, who.principal, got[0])
				}
			}
		}
	}
}
