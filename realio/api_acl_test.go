package realio

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The ACL APIs over the wire at every version: CreateAcls, DescribeAcls
// and DeleteAcls against a broker with Kafka's authorizer (the
// PLAINTEXT listener's User:ANONYMOUS a super user). v0 carries no
// pattern type: its bindings are literal.

func init() {
	versionCases[29] = versionCase{0, 3, testDescribeAcls}
	versionCases[30] = versionCase{0, 3, testCreateAcls}
	versionCases[31] = versionCase{0, 3, testDeleteAcls}
}

func startACLBroker(t *testing.T) *testBroker {
	return startBroker(t, map[string]string{"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
		"super.users": "User:ANONYMOUS"})
}

// aclCreation is alice allowed op on topic (prefixed: a prefix).
func aclCreation(topic string, prefixed bool, op kmsg.ACLOperation) kmsg.CreateACLsRequestCreation {
	c := kmsg.NewCreateACLsRequestCreation()
	c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, topic, kmsg.ACLResourcePatternTypeLiteral
	if prefixed {
		c.ResourcePatternType = kmsg.ACLResourcePatternTypePrefixed
	}
	c.Principal, c.Host, c.Operation, c.PermissionType = "User:alice", "*", op, kmsg.ACLPermissionTypeAllow
	return c
}

func createACLs(t *testing.T, c *client, v int16, cs ...kmsg.CreateACLsRequestCreation) []int16 {
	req := kmsg.NewPtrCreateACLsRequest()
	req.Creations = cs
	var codes []int16
	for _, r := range call[*kmsg.CreateACLsResponse](t, c, v, req).Results {
		codes = append(codes, r.ErrorCode)
	}
	return codes
}

func describeAllACLs(t *testing.T, c *client, v int16) *kmsg.DescribeACLsResponse {
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	if v == 0 {
		req.ResourcePatternType = kmsg.ACLResourcePatternTypeLiteral
	}
	return call[*kmsg.DescribeACLsResponse](t, c, v, req)
}

func testCreateAcls(t *testing.T, v int16) {
	b := startACLBroker(t)
	c := b.dial(t)
	cs := []kmsg.CreateACLsRequestCreation{aclCreation("orders", false, kmsg.ACLOperationWrite), aclCreation("", false, kmsg.ACLOperationRead)}
	if v >= 1 {
		cs = append(cs, aclCreation("logs-", true, kmsg.ACLOperationRead))
	}
	codes := createACLs(t, c, v, cs...)
	want := []int16{0, kerr.InvalidRequest.Code, 0}[:len(cs)]
	for i := range want {
		checkCode(t, "CreateAcls creation "+cs[i].ResourceName, codes[i], want[i])
	}
	got := describeAllACLs(t, c, max(v, 1))
	if len(got.Resources) != len(cs)-1 {
		t.Fatalf("CreateAcls v%d: described %+v; want the %d valid bindings", v, got.Resources, len(cs)-1)
	}
}

func testDescribeAcls(t *testing.T, v int16) {
	b := startACLBroker(t)
	c := b.dial(t)
	createACLs(t, c, 1, aclCreation("orders", false, kmsg.ACLOperationWrite), aclCreation("ord", true, kmsg.ACLOperationRead))
	got := describeAllACLs(t, c, v)
	checkCode(t, "DescribeAcls", got.ErrorCode, 0)
	want := 2
	if v == 0 {
		want = 1 // v0 asks for literal patterns only
	}
	if len(got.Resources) != want {
		t.Fatalf("DescribeAcls v%d: got %+v; want %d resources", v, got.Resources, want)
	}
	r := got.Resources[0]
	if r.ResourceName != "orders" || len(r.ACLs) != 1 || r.ACLs[0].Principal != "User:alice" || r.ACLs[0].Operation != kmsg.ACLOperationWrite {
		t.Errorf("DescribeAcls v%d: first resource %+v; want orders, alice may write", v, r)
	}
}

func testDeleteAcls(t *testing.T, v int16) {
	b := startACLBroker(t)
	c := b.dial(t)
	createACLs(t, c, 1, aclCreation("orders", false, kmsg.ACLOperationWrite), aclCreation("orders", false, kmsg.ACLOperationRead))
	req := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	name := "orders"
	f.ResourceType, f.ResourceName, f.ResourcePatternType = kmsg.ACLResourceTypeTopic, &name, kmsg.ACLResourcePatternTypeLiteral
	f.Operation, f.PermissionType = kmsg.ACLOperationWrite, kmsg.ACLPermissionTypeAny
	req.Filters = append(req.Filters, f)
	resp := call[*kmsg.DeleteACLsResponse](t, c, v, req)
	if len(resp.Results) != 1 || resp.Results[0].ErrorCode != 0 || len(resp.Results[0].MatchingACLs) != 1 ||
		resp.Results[0].MatchingACLs[0].Operation != kmsg.ACLOperationWrite {
		t.Fatalf("DeleteAcls v%d: got %+v; want the one Write binding deleted", v, resp.Results)
	}
	got := describeAllACLs(t, c, 1)
	if len(got.Resources) != 1 || len(got.Resources[0].ACLs) != 1 || got.Resources[0].ACLs[0].Operation != kmsg.ACLOperationRead {
		t.Errorf("after DeleteAcls v%d: described %+v; want only the Read binding", v, got.Resources)
	}
}
