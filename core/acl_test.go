package core_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"cloudkafka/core"
	"cloudkafka/core/cover"
)

// The authorizer (acl.go): its decisions, its store in Kafka's
// ZooKeeper layout, the ACL APIs and the audit of denials. ACLs are
// made through CreateAcls as a client makes them; the decisions are
// asked through the hooks of acl_internal_test.go.

// Shorthands for the ACL enums.
const (
	tAny     = kmsg.ACLResourceTypeAny
	tTopic   = kmsg.ACLResourceTypeTopic
	tGroup   = kmsg.ACLResourceTypeGroup
	tCluster = kmsg.ACLResourceTypeCluster
	tTxn     = kmsg.ACLResourceTypeTransactionalId

	pAny      = kmsg.ACLResourcePatternTypeAny
	pMatch    = kmsg.ACLResourcePatternTypeMatch
	pLiteral  = kmsg.ACLResourcePatternTypeLiteral
	pPrefixed = kmsg.ACLResourcePatternTypePrefixed

	opAny             = kmsg.ACLOperationAny
	opAll             = kmsg.ACLOperationAll
	opRead            = kmsg.ACLOperationRead
	opWrite           = kmsg.ACLOperationWrite
	opCreate          = kmsg.ACLOperationCreate
	opDelete          = kmsg.ACLOperationDelete
	opAlter           = kmsg.ACLOperationAlter
	opDescribe        = kmsg.ACLOperationDescribe
	opClusterAction   = kmsg.ACLOperationClusterAction
	opDescribeConfigs = kmsg.ACLOperationDescribeConfigs
	opAlterConfigs    = kmsg.ACLOperationAlterConfigs
	opIdempotentWrite = kmsg.ACLOperationIdempotentWrite

	permAny = kmsg.ACLPermissionTypeAny
	allow   = kmsg.ACLPermissionTypeAllow
	deny    = kmsg.ACLPermissionTypeDeny
)

const (
	aclAuthorizerClass = "kafka.security.authorizer.AclAuthorizer"
	alice, bob         = "User:alice", "User:bob"
	aliceHost          = "/10.0.0.1"
)

// aclAdmin is the super user of aclProps, who makes the ACLs.
var aclAdmin = aclClient{principal: "User:admin", host: "/10.0.0.9"}

// aclProps turns the authorizer on, with User:admin a super user.
func aclProps(extra map[string]string) map[string]string {
	return with(extra, "authorizer.class.name", aclAuthorizerClass, "super.users", aclAdmin.principal)
}

// aclHarness starts a broker with the authorizer on (extra overrides
// aclProps) and coverage counted.
func aclHarness(t *testing.T, extra map[string]string) (*harness, *cover.Counts) {
	t.Helper()
	props := aclProps(nil)
	for k, v := range extra {
		props[k] = v
	}
	cfg, err := core.ParseProperties(props)
	if err != nil {
		t.Fatal(err)
	}
	counts := &cover.Counts{}
	cfg.Seed, cfg.Coverage = 42, counts
	return newHarnessFrom(t, cfg, core.Recovered{}), counts
}

// aclClient is who sends a request: a principal and the address it
// connects from, as Kafka shows it ("/10.0.0.1").
type aclClient struct{ principal, host string }

// sendAs issues a request at version v as c; it returns the request's
// seq and the denials the request reported for the audit log.
func (h *harness) sendAs(c aclClient, v int16, req kmsg.Request) (uint64, []core.AuthzDenied) {
	req.SetVersion(v)
	h.seq++
	effects := h.b.Step(nil, core.Request{Conn: 7, Seq: h.seq, Header: core.RequestHeader{Key: req.Key(), Version: v, CorrelationID: int32(h.seq)},
		Body: req, ClientHost: c.host, Listener: core.ProtocolPlaintext, Principal: c.principal})
	var denied []core.AuthzDenied
	var rest []core.Effect
	for _, e := range effects {
		if d, ok := e.(core.AuthzDenied); ok {
			denied = append(denied, d)
		} else {
			rest = append(rest, e)
		}
	}
	h.exec(rest)
	return h.seq, denied
}

// aclBinding is one ACL binding, as CreateAcls carries it.
type aclBinding struct {
	typ       kmsg.ACLResourceType
	pattern   kmsg.ACLResourcePatternType
	name      string
	principal string
	host      string
	op        kmsg.ACLOperation
	perm      kmsg.ACLPermissionType
}

// aclOf is a binding for principal from every host.
func aclOf(perm kmsg.ACLPermissionType, principal string, op kmsg.ACLOperation, typ kmsg.ACLResourceType, pattern kmsg.ACLResourcePatternType, name string) aclBinding {
	return aclBinding{typ: typ, pattern: pattern, name: name, principal: principal, host: "*", op: op, perm: perm}
}

// from is the binding for one host only.
func (b aclBinding) from(host string) aclBinding { b.host = host; return b }

func (b aclBinding) String() string {
	return fmt.Sprintf("%v:%v:%s %s@%s %v %v", b.typ, b.pattern, b.name, b.principal, b.host, b.op, b.perm)
}

func (b aclBinding) creation() kmsg.CreateACLsRequestCreation {
	c := kmsg.NewCreateACLsRequestCreation()
	c.ResourceType, c.ResourcePatternType, c.ResourceName = b.typ, b.pattern, b.name
	c.Principal, c.Host, c.Operation, c.PermissionType = b.principal, b.host, b.op, b.perm
	return c
}

// exact is the filter that matches the binding only.
func (b aclBinding) exact() aclFilter {
	return aclFilter{typ: b.typ, pattern: b.pattern, name: &b.name, principal: &b.principal, host: &b.host, op: b.op, perm: b.perm}
}

// createACLsAs sends CreateAcls at version v as c, delivers every
// completion and returns each creation's error code.
func (h *harness) createACLsAs(c aclClient, v int16, bs ...aclBinding) []int16 {
	h.t.Helper()
	req := kmsg.NewPtrCreateACLsRequest()
	for _, b := range bs {
		req.Creations = append(req.Creations, b.creation())
	}
	seq, _ := h.sendAs(c, v, req)
	h.deliverAll()
	resp := h.mustResponse(seq).(*kmsg.CreateACLsResponse)
	if len(resp.Results) != len(bs) {
		h.t.Fatalf("CreateAcls: got %d results; want %d", len(resp.Results), len(bs))
	}
	var codes []int16
	for _, r := range resp.Results {
		codes = append(codes, r.ErrorCode)
	}
	return codes
}

// mustCreateACLs creates the bindings as the super user.
func (h *harness) mustCreateACLs(bs ...aclBinding) {
	h.t.Helper()
	for i, code := range h.createACLsAs(aclAdmin, 3, bs...) {
		if code != 0 {
			h.t.Fatalf("CreateAcls %v: got %s; want success", bs[i], codeName(code))
		}
	}
}

// aclFilter is a binding filter, as DescribeAcls and DeleteAcls carry
// it: a nil string matches every value.
type aclFilter struct {
	typ                   kmsg.ACLResourceType
	pattern               kmsg.ACLResourcePatternType
	name, principal, host *string
	op                    kmsg.ACLOperation
	perm                  kmsg.ACLPermissionType
}

// anyACL is the filter that matches every binding.
var anyACL = aclFilter{typ: tAny, pattern: pAny, op: opAny, perm: permAny}

// resourceFilter matches every entry of the named resource patterns.
func resourceFilter(typ kmsg.ACLResourceType, pattern kmsg.ACLResourcePatternType, name *string) aclFilter {
	f := anyACL
	f.typ, f.pattern, f.name = typ, pattern, name
	return f
}

func (h *harness) describeACLsAs(c aclClient, v int16, f aclFilter) (*kmsg.DescribeACLsResponse, []core.AuthzDenied) {
	h.t.Helper()
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType, req.ResourceName = f.typ, f.pattern, f.name
	req.Principal, req.Host, req.Operation, req.PermissionType = f.principal, f.host, f.op, f.perm
	seq, denied := h.sendAs(c, v, req)
	h.deliverAll()
	return h.mustResponse(seq).(*kmsg.DescribeACLsResponse), denied
}

// describedACLs lists, sorted, the bindings DescribeAcls (v3, as the
// super user) answers for f.
func (h *harness) describedACLs(f aclFilter) []string {
	h.t.Helper()
	resp, _ := h.describeACLsAs(aclAdmin, 3, f)
	if resp.ErrorCode != 0 {
		h.t.Fatalf("DescribeAcls: got %s; want success", codeName(resp.ErrorCode))
	}
	var out []string
	for _, r := range resp.Resources {
		for _, a := range r.ACLs {
			out = append(out, aclBinding{r.ResourceType, r.ResourcePatternType, r.ResourceName, a.Principal, a.Host, a.Operation, a.PermissionType}.String())
		}
	}
	slices.Sort(out)
	return out
}

func (h *harness) deleteACLsAs(c aclClient, v int16, fs ...aclFilter) *kmsg.DeleteACLsResponse {
	h.t.Helper()
	req := kmsg.NewPtrDeleteACLsRequest()
	for _, f := range fs {
		rf := kmsg.NewDeleteACLsRequestFilter()
		rf.ResourceType, rf.ResourcePatternType, rf.ResourceName = f.typ, f.pattern, f.name
		rf.Principal, rf.Host, rf.Operation, rf.PermissionType = f.principal, f.host, f.op, f.perm
		req.Filters = append(req.Filters, rf)
	}
	seq, _ := h.sendAs(c, v, req)
	h.deliverAll()
	resp := h.mustResponse(seq).(*kmsg.DeleteACLsResponse)
	if len(resp.Results) != len(fs) {
		h.t.Fatalf("DeleteAcls: got %d results; want %d", len(resp.Results), len(fs))
	}
	return resp
}

// deletedACLs sends DeleteAcls (v3, as the super user) and lists,
// sorted, the bindings each filter reports deleted.
func (h *harness) deletedACLs(fs ...aclFilter) [][]string {
	h.t.Helper()
	var out [][]string
	for i, r := range h.deleteACLsAs(aclAdmin, 3, fs...).Results {
		if r.ErrorCode != 0 {
			h.t.Fatalf("DeleteAcls filter %d: got %s; want success", i, codeName(r.ErrorCode))
		}
		var got []string
		for _, m := range r.MatchingACLs {
			if m.ErrorCode != 0 {
				h.t.Fatalf("DeleteAcls filter %d binding: got %s; want success", i, codeName(m.ErrorCode))
			}
			got = append(got, aclBinding{m.ResourceType, m.ResourcePatternType, m.ResourceName, m.Principal, m.Host, m.Operation, m.PermissionType}.String())
		}
		slices.Sort(got)
		out = append(out, got)
	}
	return out
}

func bindingStrings(bs ...aclBinding) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.String())
	}
	slices.Sort(out)
	return out
}

// znode reads a znode of the coordination store.
func (h *harness) znode(path string) ([]byte, bool) {
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordGet, Path: path})
	return res.Data, res.Err == nil
}

// notifications lists the data of the change notifications under path,
// in order.
func (h *harness) notifications(path string) []string {
	res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordChildren, Path: path})
	var out []string
	for _, c := range res.Children {
		data, _ := h.znode(path + "/" + c)
		out = append(out, string(data))
	}
	return out
}

// aclZnodes lists the znodes holding ACLs, sorted.
func (h *harness) aclZnodes() []string {
	var out []string
	for _, z := range h.coordWrites() {
		for _, root := range []string{"/kafka-acl/", "/kafka-acl-extended/prefixed/"} {
			if rest, ok := strings.CutPrefix(z.Path, root); ok && strings.Contains(rest, "/") {
				out = append(out, z.Path)
			}
		}
	}
	return out
}

// asPeer applies op to the store as another broker of the cluster does,
// and holds the watch notifications it fires for this broker.
func (h *harness) asPeer(op core.CoordOp) {
	h.t.Helper()
	res, fired := h.coord.Apply(0, op)
	if res.Err != nil {
		h.t.Fatalf("%s by another broker: %v", op.Path, res.Err)
	}
	h.deliverWatches(fired)
}

// writeACLsAsPeer writes a resource pattern's document as another
// broker does, without notifying.
func (h *harness) writeACLsAsPeer(path, doc string) {
	h.asPeer(core.CoordOp{Kind: core.CoordSet, Path: path, Data: []byte(doc), Version: core.CoordAnyVersion, Upsert: true})
}

// notifyAsPeer writes a change notification under changePath as another
// broker does.
func (h *harness) notifyAsPeer(changePath, data string) {
	h.asPeer(core.CoordOp{Kind: core.CoordCreate, Path: changePath + "/acl_changes_", Data: []byte(data), Sequential: true, Parents: true})
}

// sameJSON says whether two documents hold the same JSON value, the
// entries of an "acls" array compared as a set (Kafka writes a set).
func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s does not parse: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s does not parse: %v", want, err)
	}
	return reflect.DeepEqual(sortACLs(g), sortACLs(w))
}

func sortACLs(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if acls, ok := m["acls"].([]any); ok {
		slices.SortFunc(acls, func(a, b any) int {
			x, _ := json.Marshal(a)
			y, _ := json.Marshal(b)
			return strings.Compare(string(x), string(y))
		})
	}
	return m
}

// aclCheck is one authorization question and its expected answer.
type aclCheck struct {
	principal, host string
	op              kmsg.ACLOperation
	typ             kmsg.ACLResourceType
	name            string
	want            bool
}

func (h *harness) checkAllows(t *testing.T, checks []aclCheck) {
	t.Helper()
	for _, c := range checks {
		if got := h.b.AllowsForTest(c.principal, c.host, c.op, c.typ, c.name); got != c.want {
			t.Errorf("%s from %s, %v on %v %q: got allowed=%v; want %v", c.principal, c.host, c.op, c.typ, c.name, got, c.want)
		}
	}
}

// TestACLAuthorize: the decisions of Kafka's AclAuthorizer.authorize
// over ACLs made with CreateAcls.
func TestACLAuthorize(t *testing.T) {
	for _, tc := range []struct {
		name   string
		props  map[string]string
		acls   []aclBinding
		checks []aclCheck
	}{
		{name: "literal", acls: []aclBinding{aclOf(allow, alice, opRead, tTopic, pLiteral, "orders")}, checks: []aclCheck{
			{alice, aliceHost, opRead, tTopic, "orders", true},
			{alice, aliceHost, opRead, tTopic, "orders2", false}, // no ACL names it
			{alice, aliceHost, opRead, tTopic, "order", false},
			{bob, aliceHost, opRead, tTopic, "orders", false},
			{alice, aliceHost, opWrite, tTopic, "orders", false},
			{alice, aliceHost, opRead, tGroup, "orders", false}, // another resource type
		}},
		{name: "wildcard name", acls: []aclBinding{aclOf(allow, alice, opRead, tTopic, pLiteral, "*")}, checks: []aclCheck{
			{alice, aliceHost, opRead, tTopic, "anything", true},
			{alice, aliceHost, opRead, tTopic, "*", true},
			{bob, aliceHost, opRead, tTopic, "anything", false},
			{alice, aliceHost, opRead, tGroup, "anything", false},
		}},
		{name: "prefixed", acls: []aclBinding{aclOf(allow, alice, opRead, tTopic, pPrefixed, "ord")}, checks: []aclCheck{
			{alice, aliceHost, opRead, tTopic, "orders", true},
			{alice, aliceHost, opRead, tTopic, "ord", true},
			{alice, aliceHost, opRead, tTopic, "or", false},
			{alice, aliceHost, opRead, tTopic, "xorders", false},
			{alice, aliceHost, opRead, tTopic, "Orders", false},
		}},
		{name: "prefixes of several lengths", acls: []aclBinding{
			aclOf(allow, alice, opRead, tTopic, pPrefixed, "a"),
			aclOf(allow, bob, opRead, tTopic, pPrefixed, "abc"),
			aclOf(deny, alice, opRead, tTopic, pPrefixed, "abcd"),
		}, checks: []aclCheck{
			{alice, aliceHost, opRead, tTopic, "ab", true},
			{alice, aliceHost, opRead, tTopic, "abc", true},
			{alice, aliceHost, opRead, tTopic, "abcde", false},
			{bob, aliceHost, opRead, tTopic, "abcde", true},
			{bob, aliceHost, opRead, tTopic, "ab", false},
		}},
		{name: "deny wins over allow", acls: []aclBinding{
			aclOf(allow, "User:*", opRead, tTopic, pLiteral, "orders"),
			aclOf(deny, alice, opRead, tTopic, pPrefixed, "ord"),
			aclOf(allow, alice, opWrite, tTopic, pLiteral, "orders"),
			aclOf(deny, alice, opWrite, tTopic, pLiteral, "orders"),
			aclOf(allow, bob, opAll, tTopic, pLiteral, "pay"),
			aclOf(deny, bob, opWrite, tTopic, pLiteral, "*"),
		}, checks: []aclCheck{
			{alice, aliceHost, opRead, tTopic, "orders", false}, // prefixed deny over a wildcard-principal allow
			{bob, aliceHost, opRead, tTopic, "orders", true},
			{alice, aliceHost, opWrite, tTopic, "orders", false}, // deny and allow on the same pattern
			{bob, aliceHost, opWrite, tTopic, "pay", false},      // wildcard-name deny over a literal All allow
			{bob, aliceHost, opRead, tTopic, "pay", true},
		}},
		{name: "operation All", acls: []aclBinding{
			aclOf(allow, alice, opAll, tTopic, pLiteral, "orders"),
			aclOf(allow, bob, opAll, tTopic, pLiteral, "pay"),
			aclOf(deny, bob, opAll, tTopic, pLiteral, "pay"),
			aclOf(allow, bob, opRead, tTopic, pLiteral, "orders"),
			aclOf(deny, bob, opAll, tTopic, pPrefixed, "orde"),
		}, checks: []aclCheck{
			{alice, aliceHost, opRead, tTopic, "orders", true},
			{alice, aliceHost, opWrite, tTopic, "orders", true},
			{alice, aliceHost, opDelete, tTopic, "orders", true},
			{alice, aliceHost, opAlterConfigs, tTopic, "orders", true},
			{alice, aliceHost, opDescribe, tTopic, "orders", true},
			{bob, aliceHost, opRead, tTopic, "pay", false},
			{bob, aliceHost, opRead, tTopic, "orders", false}, // deny All covers Read
		}},
		{name: "implied operations", acls: []aclBinding{
			aclOf(allow, alice, opRead, tTopic, pLiteral, "r"),
			aclOf(allow, alice, opWrite, tTopic, pLiteral, "w"),
			aclOf(allow, alice, opDelete, tTopic, pLiteral, "d"),
			aclOf(allow, alice, opAlter, tTopic, pLiteral, "a"),
			aclOf(allow, alice, opAlterConfigs, tTopic, pLiteral, "ac"),
			aclOf(allow, alice, opCreate, tTopic, pLiteral, "c"),
			aclOf(allow, alice, opDescribe, tTopic, pLiteral, "ds"),
		}, checks: []aclCheck{
			{alice, aliceHost, opDescribe, tTopic, "r", true},
			{alice, aliceHost, opDescribe, tTopic, "w", true},
			{alice, aliceHost, opDescribe, tTopic, "d", true},
			{alice, aliceHost, opDescribe, tTopic, "a", true},
			{alice, aliceHost, opDescribeConfigs, tTopic, "ac", true},
			{alice, aliceHost, opDescribe, tTopic, "ac", false},
			{alice, aliceHost, opDescribe, tTopic, "c", false},
			{alice, aliceHost, opDescribeConfigs, tTopic, "w", false},
			{alice, aliceHost, opRead, tTopic, "w", false},
			{alice, aliceHost, opRead, tTopic, "ds", false}, // implication goes one way
			{alice, aliceHost, opAlterConfigs, tTopic, "ds", false},
		}},
		{name: "deny Read does not deny Describe", acls: []aclBinding{
			aclOf(allow, alice, opAll, tTopic, pLiteral, "orders"),
			aclOf(deny, alice, opRead, tTopic, pLiteral, "orders"),
			aclOf(allow, alice, opRead, tTopic, pLiteral, "pay"),
			aclOf(deny, alice, opDescribe, tTopic, pLiteral, "pay"),
		}, checks: []aclCheck{
			{alice, aliceHost, opDescribe, tTopic, "orders", true},
			{alice, aliceHost, opRead, tTopic, "orders", false},
			{alice, aliceHost, opWrite, tTopic, "orders", true},
			{alice, aliceHost, opRead, tTopic, "pay", true}, // deny Describe leaves Read
			{alice, aliceHost, opDescribe, tTopic, "pay", false},
		}},
		{name: "principal wildcard", acls: []aclBinding{aclOf(allow, "User:*", opRead, tTopic, pLiteral, "orders")}, checks: []aclCheck{
			{alice, aliceHost, opRead, tTopic, "orders", true},
			{bob, "/192.168.0.7", opRead, tTopic, "orders", true},
			{core.PrincipalAnonymous, "/192.168.0.7", opRead, tTopic, "orders", true},
			{bob, aliceHost, opWrite, tTopic, "orders", false},
		}},
		{name: "hosts", acls: []aclBinding{
			aclOf(allow, alice, opRead, tTopic, pLiteral, "orders").from("127.0.0.1"),
			aclOf(allow, alice, opWrite, tTopic, pLiteral, "orders").from("::1"),
			aclOf(allow, "User:*", opRead, tTopic, pLiteral, "pay"),
			aclOf(deny, "User:*", opRead, tTopic, pLiteral, "pay").from("10.0.0.66"),
		}, checks: []aclCheck{
			{alice, "/127.0.0.1", opRead, tTopic, "orders", true},
			{alice, aliceHost, opRead, tTopic, "orders", false},
			{alice, "/::ffff:127.0.0.1", opRead, tTopic, "orders", true}, // an IPv4 client on an IPv6 socket
			{alice, "/0:0:0:0:0:0:0:1", opWrite, tTopic, "orders", true}, // as Java shows ::1
			{alice, "/::1", opWrite, tTopic, "orders", true},
			{alice, "/127.0.0.1", opWrite, tTopic, "orders", false},
			{alice, "", opRead, tTopic, "orders", false}, // no address: host rules cannot match
			{bob, "/10.0.0.66", opRead, tTopic, "pay", false},
			{bob, aliceHost, opRead, tTopic, "pay", true},
		}},
		{name: "super users", props: map[string]string{"super.users": "User:admin; User:ops"}, acls: []aclBinding{
			aclOf(deny, "User:*", opAll, tTopic, pLiteral, "*"),
			aclOf(deny, "User:admin", opAll, tCluster, pLiteral, "kafka-cluster"),
		}, checks: []aclCheck{
			{"User:admin", aliceHost, opRead, tTopic, "orders", true},
			{"User:ops", aliceHost, opWrite, tTopic, "orders", true},
			{"User:admin", aliceHost, opAlter, tCluster, "kafka-cluster", true},
			{"User:admin", aliceHost, opRead, tGroup, "nobody-named-it", true},
			{alice, aliceHost, opRead, tTopic, "orders", false},
		}},
		{name: "no ACL found, allowed", props: map[string]string{"allow.everyone.if.no.acl.found": "true"}, acls: []aclBinding{
			aclOf(allow, bob, opRead, tTopic, pLiteral, "orders"),
			aclOf(deny, "User:*", opWrite, tGroup, pLiteral, "*"),
		}, checks: []aclCheck{
			{alice, aliceHost, opRead, tTopic, "free", true},
			{alice, aliceHost, opWrite, tTopic, "free", true},
			{alice, aliceHost, opRead, tTopic, "orders", false}, // its ACLs decide
			{bob, aliceHost, opRead, tTopic, "orders", true},
			{alice, aliceHost, opRead, tGroup, "g", false}, // the wildcard's ACL applies: none allows
		}},
		{name: "no ACL found, denied", props: map[string]string{"allow.everyone.if.no.acl.found": "false"}, acls: []aclBinding{
			aclOf(allow, bob, opRead, tTopic, pLiteral, "orders"),
		}, checks: []aclCheck{
			{alice, aliceHost, opRead, tTopic, "free", false},
			{bob, aliceHost, opRead, tTopic, "free", false},
			{bob, aliceHost, opRead, tTopic, "orders", true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := aclHarness(t, tc.props)
			h.mustCreateACLs(tc.acls...)
			h.checkAllows(t, tc.checks)
		})
	}
}

// TestACLAuthorizerDisabled: without authorizer.class.name every action
// is allowed, nothing is audited, and the ACL APIs answer
// SECURITY_DISABLED and store nothing.
func TestACLAuthorizerDisabled(t *testing.T) {
	h := newHarness(t, map[string]string{"allow.everyone.if.no.acl.found": "false"})
	alices := aclClient{principal: alice, host: aliceHost}
	if !h.b.AllowsForTest(alice, aliceHost, opWrite, tTopic, "orders") || !h.b.AllowsForTest(alice, aliceHost, opAlter, tCluster, "kafka-cluster") {
		t.Error("an action without an authorizer: got denied; want allowed")
	}
	if !h.b.AuthorizedAnyForTest(alice, aliceHost, opWrite, tTopic) {
		t.Error("authorizedAny without an authorizer: got denied; want allowed")
	}
	if ok, effects := h.b.AuthorizeForTest(core.Request{Principal: alice, ClientHost: aliceHost}, opRead, tGroup, "g"); !ok || len(effects) != 0 {
		t.Errorf("authorized without an authorizer: got %v with %d effects; want allowed, none", ok, len(effects))
	}
	secDisabled := kerr.SecurityDisabled.Code
	if secDisabled != 54 {
		t.Fatalf("SECURITY_DISABLED is %d; want Kafka's 54", secDisabled)
	}
	codes := h.createACLsAs(alices, 3, aclOf(allow, alice, opRead, tTopic, pLiteral, "orders"), aclOf(allow, bob, opRead, tTopic, pLiteral, "pay"))
	if !slices.Equal(codes, []int16{secDisabled, secDisabled}) {
		t.Errorf("CreateAcls: got %v; want SECURITY_DISABLED for each", codes)
	}
	if resp, denied := h.describeACLsAs(alices, 3, anyACL); resp.ErrorCode != secDisabled || len(denied) != 0 {
		t.Errorf("DescribeAcls: got %s, %d denials; want SECURITY_DISABLED, none", codeName(resp.ErrorCode), len(denied))
	}
	for i, r := range h.deleteACLsAs(alices, 3, anyACL, anyACL).Results {
		if r.ErrorCode != secDisabled || len(r.MatchingACLs) != 0 {
			t.Errorf("DeleteAcls filter %d: got %s with %d bindings; want SECURITY_DISABLED, none", i, codeName(r.ErrorCode), len(r.MatchingACLs))
		}
	}
	if z := h.aclZnodes(); len(z) != 0 {
		t.Errorf("ACL znodes: got %v; want none", z)
	}
	if n := h.notifications("/kafka-acl-changes"); len(n) != 0 {
		t.Errorf("notifications: got %q; want none", n)
	}
}

// TestACLConfig: the authorizer's properties read as Kafka reads them.
func TestACLConfig(t *testing.T) {
	for _, tc := range []struct {
		props   map[string]string
		enabled bool
		err     bool
	}{
		{props: map[string]string{"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer"}, enabled: true},
		{props: map[string]string{"authorizer.class.name": "kafka.security.auth.SimpleAclAuthorizer"}, enabled: true},
		{props: map[string]string{"authorizer.class.name": " kafka.security.authorizer.AclAuthorizer "}, enabled: true},
		{props: map[string]string{"authorizer.class.name": ""}},
		{props: map[string]string{"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer"}, err: true},
		{props: map[string]string{"super.users": "User:a;alice"}, err: true},
		{props: map[string]string{"authorizer.acl.bindings.max": "0"}, err: true},
		{props: map[string]string{"allow.everyone.if.no.acl.found": "maybe"}, err: true},
	} {
		cfg, err := core.ParseProperties(tc.props)
		if (err != nil) != tc.err {
			t.Errorf("%v: got error %v; want error %v", tc.props, err, tc.err)
			continue
		}
		if err == nil && cfg.ACL.Enabled != tc.enabled {
			t.Errorf("%v: got enabled %v; want %v", tc.props, cfg.ACL.Enabled, tc.enabled)
		}
	}
}

// TestACLClusterAuthorization: the ACL APIs ask for the cluster
// resource, Describe to describe and Alter to change, and a denial is
// audited with the API that asked.
func TestACLClusterAuthorization(t *testing.T) {
	h, _ := aclHarness(t, nil)
	bobs := aclClient{principal: bob, host: "/10.0.0.2"}
	resp, denied := h.describeACLsAs(bobs, 3, anyACL)
	if resp.ErrorCode != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("DescribeAcls without ACLs: got %s; want CLUSTER_AUTHORIZATION_FAILED", codeName(resp.ErrorCode))
	}
	want := core.AuthzDenied{Conn: 7, Principal: bob, ClientHost: "/10.0.0.2", Listener: core.ProtocolPlaintext, API: "DESCRIBE_ACLS",
		Resource: "Cluster:LITERAL:kafka-cluster", Operation: "Describe"}
	if !slices.Equal(denied, []core.AuthzDenied{want}) {
		t.Errorf("denials: got %+v; want %+v", denied, want)
	}
	codes := h.createACLsAs(bobs, 3, aclOf(allow, bob, opAll, tTopic, pLiteral, "*"))
	if !slices.Equal(codes, []int16{kerr.ClusterAuthorizationFailed.Code}) || len(h.aclZnodes()) != 0 {
		t.Fatalf("CreateAcls without ACLs: got %v, znodes %v; want CLUSTER_AUTHORIZATION_FAILED, none", codes, h.aclZnodes())
	}

	// Alter on the cluster implies Describe: bob may now describe, and
	// change.
	h.mustCreateACLs(aclOf(allow, bob, opAlter, tCluster, pLiteral, "kafka-cluster"))
	if resp, denied := h.describeACLsAs(bobs, 3, anyACL); resp.ErrorCode != 0 || len(denied) != 0 || len(resp.Resources) != 1 {
		t.Errorf("DescribeAcls with Alter: got %s, %d denials, %d resources; want success, none, 1", codeName(resp.ErrorCode), len(denied), len(resp.Resources))
	}
	if codes := h.createACLsAs(bobs, 3, aclOf(allow, bob, opRead, tTopic, pLiteral, "t")); !slices.Equal(codes, []int16{0}) {
		t.Errorf("CreateAcls with Alter: got %v; want success", codes)
	}

	// A deny for bob's address takes it back.
	h.mustCreateACLs(aclOf(deny, bob, opAll, tCluster, pLiteral, "kafka-cluster").from("10.0.0.2"))
	for i, r := range h.deleteACLsAs(bobs, 3, anyACL).Results {
		if r.ErrorCode != kerr.ClusterAuthorizationFailed.Code {
			t.Errorf("DeleteAcls filter %d with a deny: got %s; want CLUSTER_AUTHORIZATION_FAILED", i, codeName(r.ErrorCode))
		}
	}
	if n := len(h.describedACLs(anyACL)); n != 3 {
		t.Errorf("bindings after a refused DeleteAcls: got %d; want 3", n)
	}
}

// anyCheck is one question to authorizedAny (Kafka's
// authorizeByResourceType) and its expected answer.
type anyCheck struct {
	principal, host string
	op              kmsg.ACLOperation
	typ             kmsg.ACLResourceType
	want            bool
}

// TestACLAuthorizedAny: the cases of Kafka's
// testAuthorizeByResourceType*, each a sequence of ACL changes made with
// CreateAcls and DeleteAcls, and questions asked after each.
func TestACLAuthorizedAny(t *testing.T) {
	const u1, u2, h1, h2 = "User:user1", "User:user2", "192.168.1.1", "192.168.1.2"
	c1, c2 := "/"+h1, "/"+h2
	type step struct {
		create, remove []aclBinding
		checks         []anyCheck
	}
	on := func(b aclBinding, host string) aclBinding { return b.from(host) }
	for _, tc := range []struct {
		name  string
		props map[string]string
		steps []step
	}{
		{name: "multiple add and remove", steps: []step{
			{checks: []anyCheck{{u1, c1, opRead, tTopic, false}}},
			{create: []aclBinding{on(aclOf(allow, u1, opRead, tTopic, pLiteral, "sb1"), h1)}, checks: []anyCheck{{u1, c1, opRead, tTopic, true}}},
			{create: []aclBinding{on(aclOf(deny, u1, opRead, tTopic, pLiteral, "sb1"), h1)}, checks: []anyCheck{{u1, c1, opRead, tTopic, false}}},
			{remove: []aclBinding{on(aclOf(deny, u1, opRead, tTopic, pLiteral, "sb1"), h1)}, checks: []anyCheck{{u1, c1, opRead, tTopic, true}}},
			{remove: []aclBinding{on(aclOf(allow, u1, opRead, tTopic, pLiteral, "sb1"), h1)}, checks: []anyCheck{{u1, c1, opRead, tTopic, false}}},
		}},
		{name: "unrelated deny does not dominate allow", steps: []step{{
			create: []aclBinding{
				on(aclOf(deny, u1, opRead, tTopic, pLiteral, "sb1"), h1),
				on(aclOf(deny, u2, opRead, tTopic, pLiteral, "sb1"), h1),
				on(aclOf(deny, u1, opWrite, tTopic, pLiteral, "sb1"), h2),
				on(aclOf(deny, u2, opRead, tTopic, pLiteral, "sb1"), h2),
				on(aclOf(allow, u1, opRead, tTopic, pLiteral, "sb1"), h2),
				on(aclOf(deny, u1, opRead, tTopic, pLiteral, "sb2"), h2),
				on(aclOf(deny, u1, opRead, tGroup, pPrefixed, "s"), h2),
			},
			checks: []anyCheck{
				{u1, c1, opRead, tTopic, false},
				{u1, c1, opRead, tGroup, false},
				{u1, c1, opRead, tTxn, false},
				{u1, c1, opRead, tCluster, false},
				{u1, c2, opRead, tTopic, true},
			},
		}}},
		{name: "deny takes precedence", steps: []step{
			{create: []aclBinding{on(aclOf(allow, u1, opWrite, tTopic, pLiteral, "sb1"), h1)}, checks: []anyCheck{{u1, c1, opWrite, tTopic, true}}},
			{create: []aclBinding{on(aclOf(deny, u1, opWrite, tTopic, pLiteral, "sb1"), h1)}, checks: []anyCheck{{u1, c1, opWrite, tTopic, false}}},
		}},
		{name: "prefixed deny dominates", steps: []step{
			{create: []aclBinding{on(aclOf(allow, u1, opRead, tGroup, pPrefixed, "abcde"), h1)}, checks: []anyCheck{{u1, c1, opRead, tGroup, true}}},
			{create: []aclBinding{on(aclOf(deny, u1, opRead, tGroup, pPrefixed, "abcd"), h1)}, checks: []anyCheck{{u1, c1, opRead, tGroup, false}}},
			{create: []aclBinding{on(aclOf(allow, u1, opRead, tGroup, pPrefixed, "abc"), h1)}, checks: []anyCheck{{u1, c1, opRead, tGroup, true}}},
			{create: []aclBinding{on(aclOf(deny, u1, opRead, tGroup, pPrefixed, "a"), h1)}, checks: []anyCheck{{u1, c1, opRead, tGroup, false}}},
			{create: []aclBinding{on(aclOf(allow, u1, opRead, tGroup, pPrefixed, "ab"), h1)}, checks: []anyCheck{{u1, c1, opRead, tGroup, false}}},
			// a literal allow under a prefixed deny is dominated too
			{create: []aclBinding{on(aclOf(allow, u1, opRead, tGroup, pLiteral, "abz"), h1)}, checks: []anyCheck{{u1, c1, opRead, tGroup, false}}},
			{create: []aclBinding{on(aclOf(allow, u1, opRead, tGroup, pLiteral, "b"), h1)}, checks: []anyCheck{{u1, c1, opRead, tGroup, true}}},
		}},
		{name: "wildcard deny dominates", steps: []step{
			{create: []aclBinding{on(aclOf(allow, u1, opWrite, tGroup, pPrefixed, "hello"), h1)}, checks: []anyCheck{{u1, c1, opWrite, tGroup, true}}},
			{create: []aclBinding{on(aclOf(deny, u1, opWrite, tGroup, pLiteral, "*"), h1)}, checks: []anyCheck{{u1, c1, opWrite, tGroup, false}}},
			{create: []aclBinding{on(aclOf(allow, u1, opWrite, tGroup, pLiteral, "*"), h1)}, checks: []anyCheck{{u1, c1, opWrite, tGroup, false}}},
			{create: []aclBinding{on(aclOf(allow, u1, opWrite, tGroup, pLiteral, "aloha"), h1)}, checks: []anyCheck{{u1, c1, opWrite, tGroup, false}}},
		}},
		{name: "operation All", steps: []step{
			{checks: []anyCheck{{u1, c1, opRead, tTopic, false}}},
			{create: []aclBinding{on(aclOf(deny, u1, opWrite, tTopic, pLiteral, "sb1"), h1), on(aclOf(allow, u1, opAll, tTopic, pLiteral, "sb1"), h1)},
				checks: []anyCheck{{u1, c1, opRead, tTopic, true}}},
			{create: []aclBinding{on(aclOf(deny, u1, opAll, tTopic, pLiteral, "sb1"), h1)}, checks: []anyCheck{{u1, c1, opRead, tTopic, false}}},
		}},
		{name: "all hosts", steps: []step{
			{checks: []anyCheck{{u1, c1, opRead, tTopic, false}}},
			{create: []aclBinding{on(aclOf(allow, u1, opRead, tTopic, pLiteral, "sb1"), h1)}, checks: []anyCheck{{u1, c1, opRead, tTopic, true}}},
			{create: []aclBinding{aclOf(deny, u1, opRead, tTopic, pLiteral, "sb1")}, checks: []anyCheck{{u1, c1, opRead, tTopic, false}}},
			{create: []aclBinding{on(aclOf(deny, u1, opRead, tTopic, pLiteral, "sb2"), h1)},
				checks: []anyCheck{{u1, c1, opRead, tTopic, false}, {u1, c2, opRead, tTopic, false}}},
			{create: []aclBinding{aclOf(allow, u1, opRead, tTopic, pLiteral, "sb2")}, checks: []anyCheck{{u1, c2, opRead, tTopic, true}}},
			{create: []aclBinding{aclOf(deny, u1, opRead, tTopic, pLiteral, "sb2")}, checks: []anyCheck{{u1, c2, opRead, tTopic, false}}},
		}},
		{name: "all principals", steps: []step{
			{checks: []anyCheck{{u1, c1, opRead, tTopic, false}}},
			{create: []aclBinding{on(aclOf(allow, u1, opRead, tTopic, pLiteral, "sb1"), h1)}, checks: []anyCheck{{u1, c1, opRead, tTopic, true}}},
			{create: []aclBinding{on(aclOf(deny, "User:*", opRead, tTopic, pLiteral, "sb1"), h1)}, checks: []anyCheck{{u1, c1, opRead, tTopic, false}}},
			{create: []aclBinding{on(aclOf(deny, u1, opRead, tTopic, pLiteral, "sb2"), h1)},
				checks: []anyCheck{{u1, c1, opRead, tTopic, false}, {u2, c1, opRead, tTopic, false}}},
			{create: []aclBinding{on(aclOf(allow, "User:*", opRead, tTopic, pLiteral, "sb2"), h1)}, checks: []anyCheck{{u2, c1, opRead, tTopic, true}}},
			{create: []aclBinding{on(aclOf(deny, "User:*", opRead, tTopic, pLiteral, "sb2"), h1)}, checks: []anyCheck{{u2, c1, opRead, tTopic, false}}},
		}},
		{name: "super user", steps: []step{{
			create: []aclBinding{
				aclOf(deny, "User:*", opAll, tTopic, pLiteral, "*"),
				aclOf(deny, "User:*", opAll, tCluster, pLiteral, "kafka-cluster"),
				aclOf(deny, "User:*", opAll, tGroup, pLiteral, "*"),
				aclOf(deny, "User:*", opAll, tTxn, pLiteral, "*"),
			},
			checks: []anyCheck{
				{aclAdmin.principal, "/192.0.4.4", opRead, tTopic, true},
				{aclAdmin.principal, "/192.0.4.4", opRead, tCluster, true},
				{aclAdmin.principal, "/192.0.4.4", opRead, tGroup, true},
				{aclAdmin.principal, "/192.0.4.4", opRead, tTxn, true},
				{u1, "/192.0.4.4", opRead, tTopic, false},
			},
		}}},
		{name: "no ACL found, allowed", props: map[string]string{"allow.everyone.if.no.acl.found": "true"}, steps: []step{
			{checks: []anyCheck{{u1, c1, opRead, tTopic, true}, {u1, c1, opWrite, tTopic, true}}},
			// only a literal deny of every name refuses
			{create: []aclBinding{aclOf(deny, u1, opRead, tTopic, pPrefixed, "a"), aclOf(deny, u1, opRead, tTopic, pLiteral, "sb1")},
				checks: []anyCheck{{u1, c1, opRead, tTopic, true}}},
			{create: []aclBinding{aclOf(deny, u1, opRead, tTopic, pLiteral, "*")},
				checks: []anyCheck{{u1, c1, opRead, tTopic, false}, {u1, c1, opWrite, tTopic, true}, {u2, c1, opRead, tTopic, true}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := aclHarness(t, tc.props)
			for i, s := range tc.steps {
				if len(s.create) > 0 {
					h.mustCreateACLs(s.create...)
				}
				for _, b := range s.remove {
					if got := h.deletedACLs(b.exact()); len(got[0]) != 1 {
						t.Fatalf("step %d: deleting %v: got %v; want it", i, b, got[0])
					}
				}
				for _, c := range s.checks {
					if got := h.b.AuthorizedAnyForTest(c.principal, c.host, c.op, c.typ); got != c.want {
						t.Errorf("step %d: %s from %s, %v on some %v: got %v; want %v", i, c.principal, c.host, c.op, c.typ, got, c.want)
					}
				}
			}
		})
	}
}

// TestACLStoreFormat: a binding created is stored as Kafka stores it,
// one JSON document per resource pattern, and announced with Kafka's
// change notification (acl.go).
func TestACLStoreFormat(t *testing.T) {
	for _, tc := range []struct {
		acls       []aclBinding
		path, doc  string
		changePath string
		change     string // a literal pattern's notification, byte for byte
		changeJSON string // a prefixed pattern's, as JSON
	}{
		{
			acls:       []aclBinding{aclOf(allow, alice, opRead, tTopic, pLiteral, "orders")},
			path:       "/kafka-acl/Topic/orders",
			doc:        `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}`,
			changePath: "/kafka-acl-changes", change: "TOPIC:orders",
		},
		{
			acls:       []aclBinding{aclOf(allow, alice, opWrite, tTopic, pPrefixed, "ord").from("10.0.0.1")},
			path:       "/kafka-acl-extended/prefixed/Topic/ord",
			doc:        `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Write","host":"10.0.0.1"}]}`,
			changePath: "/kafka-acl-extended-changes", changeJSON: `{"version":1,"resourceType":"TOPIC","name":"ord","patternType":"PREFIXED"}`,
		},
		{
			acls: []aclBinding{aclOf(deny, "User:*", opIdempotentWrite, tCluster, pLiteral, "kafka-cluster"),
				aclOf(allow, "User:broker", opClusterAction, tCluster, pLiteral, "kafka-cluster")},
			path: "/kafka-acl/Cluster/kafka-cluster",
			doc: `{"version":1,"acls":[{"principal":"User:*","permissionType":"Deny","operation":"IdempotentWrite","host":"*"},
				{"principal":"User:broker","permissionType":"Allow","operation":"ClusterAction","host":"*"}]}`,
			changePath: "/kafka-acl-changes", change: "CLUSTER:kafka-cluster",
		},
		{
			acls:       []aclBinding{aclOf(allow, alice, opDescribeConfigs, tTxn, pLiteral, "tx-1")},
			path:       "/kafka-acl/TransactionalId/tx-1",
			doc:        `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"DescribeConfigs","host":"*"}]}`,
			changePath: "/kafka-acl-changes", change: "TRANSACTIONAL_ID:tx-1",
		},
		{
			acls:       []aclBinding{aclOf(deny, bob, opAll, tGroup, pPrefixed, "app-")},
			path:       "/kafka-acl-extended/prefixed/Group/app-",
			doc:        `{"version":1,"acls":[{"principal":"User:bob","permissionType":"Deny","operation":"All","host":"*"}]}`,
			changePath: "/kafka-acl-extended-changes", changeJSON: `{"version":1,"resourceType":"GROUP","name":"app-","patternType":"PREFIXED"}`,
		},
	} {
		t.Run(tc.path, func(t *testing.T) {
			h, _ := aclHarness(t, nil)
			h.mustCreateACLs(tc.acls...)
			if z := h.aclZnodes(); !slices.Equal(z, []string{tc.path}) {
				t.Fatalf("ACL znodes: got %v; want %s", z, tc.path)
			}
			if data, _ := h.znode(tc.path); !sameJSON(t, data, tc.doc) {
				t.Errorf("%s: got %s; want %s", tc.path, data, tc.doc)
			}
			res, _ := h.coord.Apply(0, core.CoordOp{Kind: core.CoordChildren, Path: tc.changePath})
			if !slices.Equal(res.Children, []string{"acl_changes_0000000000"}) {
				t.Fatalf("%s: got %v; want one acl_changes_0000000000", tc.changePath, res.Children)
			}
			note, _ := h.znode(tc.changePath + "/acl_changes_0000000000")
			if tc.changeJSON != "" {
				if !sameJSON(t, note, tc.changeJSON) {
					t.Errorf("notification: got %s; want %s", note, tc.changeJSON)
				}
			} else if string(note) != tc.change {
				t.Errorf("notification: got %q; want %q", note, tc.change)
			}
			other := "/kafka-acl-changes"
			if tc.changePath == other {
				other = "/kafka-acl-extended-changes"
			}
			if n := h.notifications(other); len(n) != 0 {
				t.Errorf("%s: got %q; want nothing", other, n)
			}
		})
	}
}

// kafkaDocs are ACL documents as Kafka's brokers and tools write them:
// keys in any order, spacing, and the upper-case and lower-case names
// Kafka's SecurityUtils also reads.
var kafkaDocs = []core.Znode{
	{Path: "/kafka-acl/Topic/orders", Data: []byte(`{"version":1,"acls":[{"host":"*","permissionType":"ALLOW","operation":"READ","principal":"User:alice"},` +
		`{"principal":"User:bob","permissionType":"Deny","operation":"Write","host":"10.0.0.2"}]}`)},
	{Path: "/kafka-acl-extended/prefixed/Group/app-", Data: []byte(`{"version": 1, "acls": [ {"principal": "User:alice", "permissionType": "Allow", "operation": "Read", "host": "*"} ]}`)},
	{Path: "/kafka-acl/Cluster/kafka-cluster", Data: []byte(`{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"IDEMPOTENTWRITE","host":"*"}]}`)},
	{Path: "/kafka-acl/Topic/lower", Data: []byte(`{"version":1,"acls":[{"principal":"User:alice","permissionType":"allow","operation":"describeConfigs","host":"*"}]}`)},
}

// kafkaDocsBindings are the bindings kafkaDocs hold.
var kafkaDocsBindings = []aclBinding{
	aclOf(allow, alice, opRead, tTopic, pLiteral, "orders"),
	aclOf(deny, bob, opWrite, tTopic, pLiteral, "orders").from("10.0.0.2"),
	aclOf(allow, alice, opRead, tGroup, pPrefixed, "app-"),
	aclOf(allow, alice, opIdempotentWrite, tCluster, pLiteral, "kafka-cluster"),
	aclOf(allow, alice, opDescribeConfigs, tTopic, pLiteral, "lower"),
}

var kafkaDocsChecks = []aclCheck{
	{alice, aliceHost, opRead, tTopic, "orders", true},
	{bob, "/10.0.0.2", opWrite, tTopic, "orders", false},
	{alice, aliceHost, opRead, tGroup, "app-1", true},
	{alice, aliceHost, opIdempotentWrite, tCluster, "kafka-cluster", true},
	{alice, aliceHost, opDescribeConfigs, tTopic, "lower", true},
	{alice, aliceHost, opRead, tTopic, "unknown", false},
}

// TestACLKafkaDocumentsRecovered: documents Kafka wrote are honoured by
// a broker that starts on them; one it cannot read is left out, not
// fatal.
func TestACLKafkaDocumentsRecovered(t *testing.T) {
	cfg, err := core.ParseProperties(aclProps(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 42
	znodes := append(slices.Clone(kafkaDocs),
		core.Znode{Path: "/kafka-acl/Topic/broken", Data: []byte(`{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Fly","host":"*"}]}`)},
		core.Znode{Path: "/kafka-acl/Topic/v2", Data: []byte(`{"version":2,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}`)})
	h := newHarnessFrom(t, cfg, core.Recovered{Znodes: znodes})
	h.checkAllows(t, kafkaDocsChecks)
	if got, want := h.describedACLs(anyACL), bindingStrings(kafkaDocsBindings...); !slices.Equal(got, want) {
		t.Errorf("bindings: got %q; want %q", got, want)
	}
}

// TestACLChangeNotifiedByAnotherBroker: another broker's change reaches
// this broker's cache through its notification, literal or prefixed, in
// Kafka's formats (the type "Topic" is how Kafka before 2.0 named it).
func TestACLChangeNotifiedByAnotherBroker(t *testing.T) {
	h, counts := aclHarness(t, nil)
	for i, z := range kafkaDocs {
		h.writeACLsAsPeer(z.Path, string(z.Data))
		h.deliverAll()
		if i == 0 && h.b.AllowsForTest(alice, aliceHost, opRead, tTopic, "orders") {
			t.Fatal("a document written without a notification: got it enforced; want the cache unchanged until notified")
		}
	}
	h.notifyAsPeer("/kafka-acl-changes", "TOPIC:orders")
	h.notifyAsPeer("/kafka-acl-extended-changes", `{"version":1,"resourceType":"GROUP","name":"app-","patternType":"PREFIXED"}`)
	h.notifyAsPeer("/kafka-acl-changes", "CLUSTER:kafka-cluster")
	h.notifyAsPeer("/kafka-acl-changes", "Topic:lower")
	h.deliverAll()
	h.checkAllows(t, kafkaDocsChecks)
	if got, want := h.describedACLs(anyACL), bindingStrings(kafkaDocsBindings...); !slices.Equal(got, want) {
		t.Errorf("bindings: got %q; want %q", got, want)
	}
	if n := counts.Of(cover.ACLChangeNotified); n != 4 {
		t.Errorf("notifications processed: got %d; want 4", n)
	}

	// Another broker deletes a pattern's document and notifies.
	h.asPeer(core.CoordOp{Kind: core.CoordDelete, Path: "/kafka-acl/Topic/orders", Version: core.CoordAnyVersion})
	h.notifyAsPeer("/kafka-acl-changes", "TOPIC:orders")
	h.deliverAll()
	if h.b.AllowsForTest(alice, aliceHost, opRead, tTopic, "orders") {
		t.Error("after another broker deleted the ACLs of orders: got alice allowed; want denied")
	}
	if got := h.describedACLs(resourceFilter(tTopic, pLiteral, kmsg.StringPtr("orders"))); len(got) != 0 {
		t.Errorf("bindings of orders: got %q; want none", got)
	}
}

// TestACLReloadedOnNewSession: a broker whose session expired rereads
// every ACL when it registers again, so that what changed meanwhile,
// notified or not, is enforced.
func TestACLReloadedOnNewSession(t *testing.T) {
	h, _ := aclHarness(t, nil)
	h.mustCreateACLs(aclOf(allow, alice, opRead, tTopic, pLiteral, "old"))
	h.coord.CloseSession(h.session)
	h.asPeer(core.CoordOp{Kind: core.CoordDelete, Path: "/kafka-acl/Topic/old", Version: core.CoordAnyVersion})
	h.writeACLsAsPeer(kafkaDocs[0].Path, string(kafkaDocs[0].Data))
	h.deliverAll()
	h.checkAllows(t, []aclCheck{{alice, aliceHost, opRead, tTopic, "old", true}, {alice, aliceHost, opRead, tTopic, "orders", false}})

	h.session = h.coord.OpenSession()
	h.step(core.CoordNewSession{Session: h.session})
	h.tick(1)
	h.deliverAll()
	h.checkAllows(t, []aclCheck{{alice, aliceHost, opRead, tTopic, "old", false}, {alice, aliceHost, opRead, tTopic, "orders", true}})
}

// TestCreateACLsInvalid: a creation that cannot be a binding gets
// INVALID_REQUEST, alone: the valid creations of the request are made,
// and nothing of the invalid ones is written.
func TestCreateACLsInvalid(t *testing.T) {
	valid := aclOf(allow, alice, opRead, tTopic, pLiteral, "orders")
	invalid := []aclBinding{
		aclOf(allow, alice, opRead, tTopic, pLiteral, ""),
		aclOf(allow, alice, opRead, tTopic, pLiteral, "a/b"),
		aclOf(allow, alice, opRead, tTopic, pPrefixed, "a/"),
		aclOf(allow, alice, opAlter, tCluster, pLiteral, "other-cluster"),
		aclOf(allow, alice, opRead, tTopic, pAny, "orders"),
		aclOf(allow, alice, opRead, tTopic, pMatch, "orders"),
		aclOf(allow, alice, kmsg.ACLOperationUnknown, tTopic, pLiteral, "orders"),
		aclOf(allow, alice, opAny, tTopic, pLiteral, "orders"),
		aclOf(allow, alice, kmsg.ACLOperation(99), tTopic, pLiteral, "orders"),
		aclOf(allow, "alice", opRead, tTopic, pLiteral, "orders"),
		aclOf(allow, "", opRead, tTopic, pLiteral, "orders"),
		aclOf(allow, alice, opRead, tAny, pLiteral, "orders"),
		aclOf(allow, alice, opRead, kmsg.ACLResourceTypeUnknown, pLiteral, "orders"),
		aclOf(permAny, alice, opRead, tTopic, pLiteral, "orders"),
	}
	h, _ := aclHarness(t, nil)
	before := h.coordWrites()
	codes := h.createACLsAs(aclAdmin, 3, invalid...)
	for i, code := range codes {
		if code != kerr.InvalidRequest.Code {
			t.Errorf("creation %v: got %s; want INVALID_REQUEST", invalid[i], codeName(code))
		}
	}
	if after := h.coordWrites(); !reflect.DeepEqual(after, before) {
		t.Errorf("invalid creations changed the store: got %d znodes; want the %d before", len(after), len(before))
	}

	// Mixed with a valid one, which alone is made.
	mixed := append([]aclBinding{invalid[0], valid}, invalid[1:]...)
	codes = h.createACLsAs(aclAdmin, 3, mixed...)
	for i, code := range codes {
		if want := map[bool]int16{true: 0, false: kerr.InvalidRequest.Code}[i == 1]; code != want {
			t.Errorf("creation %v among others: got %s; want %s", mixed[i], codeName(code), codeName(want))
		}
	}
	if got, want := h.describedACLs(anyACL), bindingStrings(valid); !slices.Equal(got, want) {
		t.Errorf("bindings: got %q; want %q", got, want)
	}
	if z := h.aclZnodes(); !slices.Equal(z, []string{"/kafka-acl/Topic/orders"}) {
		t.Errorf("ACL znodes: got %v; want /kafka-acl/Topic/orders", z)
	}
}

// TestACLAPIsVersion0: before version 1 the ACL APIs carry no pattern
// type: they are about literal patterns only, whatever the field says.
func TestACLAPIsVersion0(t *testing.T) {
	h, _ := aclHarness(t, nil)
	if codes := h.createACLsAs(aclAdmin, 0, aclOf(allow, alice, opRead, tTopic, pPrefixed, "orders")); !slices.Equal(codes, []int16{0}) {
		t.Fatalf("CreateAcls v0: got %v; want success", codes)
	}
	if z := h.aclZnodes(); !slices.Equal(z, []string{"/kafka-acl/Topic/orders"}) {
		t.Fatalf("ACL znodes after CreateAcls v0: got %v; want the literal /kafka-acl/Topic/orders", z)
	}
	h.mustCreateACLs(aclOf(allow, bob, opRead, tTopic, pPrefixed, "orders"))
	literal := bindingStrings(aclOf(allow, alice, opRead, tTopic, pLiteral, "orders"))
	resp, _ := h.describeACLsAs(aclAdmin, 0, resourceFilter(tTopic, pPrefixed, kmsg.StringPtr("orders")))
	var got []string
	for _, r := range resp.Resources {
		for _, a := range r.ACLs {
			got = append(got, aclBinding{r.ResourceType, r.ResourcePatternType, r.ResourceName, a.Principal, a.Host, a.Operation, a.PermissionType}.String())
		}
	}
	if resp.ErrorCode != 0 || !slices.Equal(got, literal) {
		t.Errorf("DescribeAcls v0: got %s %q; want success %q", codeName(resp.ErrorCode), got, literal)
	}
	del := h.deleteACLsAs(aclAdmin, 0, resourceFilter(tTopic, pAny, kmsg.StringPtr("orders")))
	if r := del.Results[0]; r.ErrorCode != 0 || len(r.MatchingACLs) != 1 || r.MatchingACLs[0].Principal != alice {
		t.Errorf("DeleteAcls v0: got %s with %+v; want alice's literal binding", codeName(r.ErrorCode), r.MatchingACLs)
	}
	if got, want := h.describedACLs(anyACL), bindingStrings(aclOf(allow, bob, opRead, tTopic, pPrefixed, "orders")); !slices.Equal(got, want) {
		t.Errorf("bindings after DeleteAcls v0: got %q; want %q", got, want)
	}
}

// describeFixture are the bindings TestDescribeACLsFilters and
// TestDeleteACLs start from.
var describeFixture = []aclBinding{
	aclOf(allow, alice, opRead, tTopic, pLiteral, "orders"),                    // 0
	aclOf(deny, bob, opWrite, tTopic, pLiteral, "orders").from("10.0.0.2"),     // 1
	aclOf(allow, "User:*", opDescribe, tTopic, pLiteral, "*"),                  // 2
	aclOf(allow, alice, opWrite, tTopic, pPrefixed, "ord"),                     // 3
	aclOf(allow, "User:carol", opRead, tTopic, pPrefixed, "x"),                 // 4
	aclOf(allow, alice, opRead, tGroup, pLiteral, "orders"),                    // 5
	aclOf(allow, alice, opRead, tTopic, pLiteral, "ordersX"),                   // 6
	aclOf(allow, alice, opRead, tTopic, pPrefixed, "orders"),                   // 7
	aclOf(deny, alice, opAll, tCluster, pLiteral, "kafka-cluster").from("::1"), // 8
}

func fixtureStrings(idx ...int) []string {
	var bs []aclBinding
	for _, i := range idx {
		bs = append(bs, describeFixture[i])
	}
	return bindingStrings(bs...)
}

// TestDescribeACLsFilters: DescribeAcls answers the bindings a filter
// matches, as Kafka's AclBindingFilter matches them; MATCH finds the
// patterns that apply to a name.
func TestDescribeACLsFilters(t *testing.T) {
	h, _ := aclHarness(t, nil)
	h.mustCreateACLs(describeFixture...)
	s := kmsg.StringPtr
	set := func(f aclFilter, change func(*aclFilter)) aclFilter { change(&f); return f }
	for _, tc := range []struct {
		name string
		f    aclFilter
		want []int
	}{
		{"any", anyACL, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"topics", resourceFilter(tTopic, pAny, nil), []int{0, 1, 2, 3, 4, 6, 7}},
		{"literal orders", resourceFilter(tTopic, pLiteral, s("orders")), []int{0, 1}},
		{"prefixed", resourceFilter(tTopic, pPrefixed, nil), []int{3, 4, 7}},
		{"prefixed orde", resourceFilter(tTopic, pPrefixed, s("orde")), nil},
		{"any pattern orders", resourceFilter(tTopic, pAny, s("orders")), []int{0, 1, 7}},
		{"match orders", resourceFilter(tTopic, pMatch, s("orders")), []int{0, 1, 2, 3, 7}},
		{"match of every type", resourceFilter(tAny, pMatch, s("orders")), []int{0, 1, 2, 3, 5, 7}},
		{"match x1", resourceFilter(tTopic, pMatch, s("x1")), []int{2, 4}},
		{"match without name", resourceFilter(tTopic, pMatch, nil), []int{0, 1, 2, 3, 4, 6, 7}},
		{"literal wildcard", resourceFilter(tTopic, pLiteral, s("*")), []int{2}},
		{"cluster", resourceFilter(tCluster, pAny, s("kafka-cluster")), []int{8}},
		{"principal", set(anyACL, func(f *aclFilter) { f.principal = s(alice) }), []int{0, 3, 5, 6, 7, 8}},
		{"wildcard principal", set(anyACL, func(f *aclFilter) { f.principal = s("User:*") }), []int{2}},
		{"host", set(anyACL, func(f *aclFilter) { f.host = s("10.0.0.2") }), []int{1}},
		{"host ::1", set(anyACL, func(f *aclFilter) { f.host = s("::1") }), []int{8}},
		{"operation", set(anyACL, func(f *aclFilter) { f.op = opWrite }), []int{1, 3}},
		{"operation All", set(anyACL, func(f *aclFilter) { f.op = opAll }), []int{8}},
		{"permission", set(anyACL, func(f *aclFilter) { f.perm = deny }), []int{1, 8}},
		{"principal and operation", set(anyACL, func(f *aclFilter) { f.principal, f.op = s(alice), opRead }), []int{0, 5, 6, 7}},
		{"match and principal", set(resourceFilter(tTopic, pMatch, s("orders")), func(f *aclFilter) { f.principal = s(alice) }), []int{0, 3, 7}},
		{"nobody", set(anyACL, func(f *aclFilter) { f.principal = s("User:nobody") }), nil},
	} {
		if got, want := h.describedACLs(tc.f), fixtureStrings(tc.want...); !slices.Equal(got, want) {
			t.Errorf("%s: got %q; want %q", tc.name, got, want)
		}
	}
	for _, f := range []aclFilter{
		set(anyACL, func(f *aclFilter) { f.typ = kmsg.ACLResourceTypeUnknown }),
		set(anyACL, func(f *aclFilter) { f.pattern = kmsg.ACLResourcePatternTypeUnknown }),
		set(anyACL, func(f *aclFilter) { f.op = kmsg.ACLOperationUnknown }),
		set(anyACL, func(f *aclFilter) { f.perm = kmsg.ACLPermissionTypeUnknown }),
	} {
		if resp, _ := h.describeACLsAs(aclAdmin, 3, f); resp.ErrorCode != kerr.InvalidRequest.Code || len(resp.Resources) != 0 {
			t.Errorf("DescribeAcls %+v: got %s with %d resources; want INVALID_REQUEST, none", f, codeName(resp.ErrorCode), len(resp.Resources))
		}
	}
}

// TestDeleteACLs: DeleteAcls removes the bindings its filters match,
// reports each under the first filter that matched it, deletes the
// document of a pattern left without entries, rewrites the others, and
// notifies once per pattern changed.
func TestDeleteACLs(t *testing.T) {
	h, _ := aclHarness(t, nil)
	h.mustCreateACLs(describeFixture...)
	literalNotes := len(h.notifications("/kafka-acl-changes"))
	prefixedNotes := len(h.notifications("/kafka-acl-extended-changes"))
	s := kmsg.StringPtr

	// Nothing matched: no write, no notification.
	before := h.coordWrites()
	if got := h.deletedACLs(resourceFilter(tTopic, pLiteral, s("ghost")), resourceFilter(tGroup, pAny, s("orders")).principalIs(bob)); len(got[0])+len(got[1]) != 0 {
		t.Fatalf("DeleteAcls matching nothing: got %q; want nothing", got)
	}
	if after := h.coordWrites(); !reflect.DeepEqual(after, before) {
		t.Fatal("DeleteAcls matching nothing changed the store")
	}

	// Filter 0 takes alice's on topics; filter 1, matching every pattern
	// that applies to orders, takes what is left of them, alice's
	// included but reported under filter 0; filter 2 matches what
	// filter 0 took.
	got := h.deletedACLs(
		resourceFilter(tTopic, pAny, nil).principalIs(alice),
		resourceFilter(tAny, pMatch, s("orders")),
		resourceFilter(tTopic, pLiteral, s("orders")).principalIs(alice),
	)
	want := [][]string{fixtureStrings(0, 3, 6, 7), fixtureStrings(1, 2, 5), nil}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("deleted per filter: got %q; want %q", got, want)
	}
	if got, want := h.describedACLs(anyACL), fixtureStrings(4, 8); !slices.Equal(got, want) {
		t.Errorf("bindings left: got %q; want %q", got, want)
	}
	if z := h.aclZnodes(); !slices.Equal(z, []string{"/kafka-acl-extended/prefixed/Topic/x", "/kafka-acl/Cluster/kafka-cluster"}) {
		t.Errorf("ACL znodes left: got %v; want x's and the cluster's", z)
	}
	// Changed: literal orders, *, ordersX and group orders; prefixed ord
	// and orders.
	notes := h.notifications("/kafka-acl-changes")[literalNotes:]
	slices.Sort(notes)
	if want := []string{"GROUP:orders", "TOPIC:*", "TOPIC:orders", "TOPIC:ordersX"}; !slices.Equal(notes, want) {
		t.Errorf("literal notifications: got %q; want %q", notes, want)
	}
	if n := len(h.notifications("/kafka-acl-extended-changes")) - prefixedNotes; n != 2 {
		t.Errorf("prefixed notifications: got %d; want 2", n)
	}

	// Part of a pattern's entries: the document keeps the others.
	h.mustCreateACLs(describeFixture[0], describeFixture[1])
	if got := h.deletedACLs(describeFixture[1].exact()); !reflect.DeepEqual(got, [][]string{fixtureStrings(1)}) {
		t.Fatalf("deleting bob's: got %q; want it alone", got)
	}
	data, _ := h.znode("/kafka-acl/Topic/orders")
	if doc := `{"version":1,"acls":[{"principal":"User:alice","permissionType":"Allow","operation":"Read","host":"*"}]}`; !sameJSON(t, data, doc) {
		t.Errorf("/kafka-acl/Topic/orders: got %s; want %s", data, doc)
	}
	if notes := h.notifications("/kafka-acl-changes"); notes[len(notes)-1] != "TOPIC:orders" {
		t.Errorf("last notification: got %q; want TOPIC:orders", notes[len(notes)-1])
	}
}

func (f aclFilter) principalIs(p string) aclFilter { f.principal = &p; return f }

// TestCreateExistingACL: creating a binding that exists succeeds and
// changes nothing: same document, no notification.
func TestCreateExistingACL(t *testing.T) {
	h, _ := aclHarness(t, nil)
	b := aclOf(allow, alice, opRead, tTopic, pLiteral, "orders")
	h.mustCreateACLs(b)
	doc, _ := h.znode("/kafka-acl/Topic/orders")
	notes := h.notifications("/kafka-acl-changes")
	h.mustCreateACLs(b, b)
	again, _ := h.znode("/kafka-acl/Topic/orders")
	if string(again) != string(doc) {
		t.Errorf("document: got %s; want %s unchanged", again, doc)
	}
	if n := h.notifications("/kafka-acl-changes"); !slices.Equal(n, notes) {
		t.Errorf("notifications: got %q; want %q, none added", n, notes)
	}
	if got := h.describedACLs(anyACL); !slices.Equal(got, bindingStrings(b)) {
		t.Errorf("bindings: got %q; want %v once", got, b)
	}
}

// TestCreateACLsBindingsMax: beyond authorizer.acl.bindings.max
// bindings, the creations that would add one get POLICY_VIOLATION;
// existing bindings may still be created, and room freed is usable.
func TestCreateACLsBindingsMax(t *testing.T) {
	h, _ := aclHarness(t, map[string]string{"authorizer.acl.bindings.max": "3"})
	a := aclOf(allow, alice, opRead, tTopic, pLiteral, "a")
	h.mustCreateACLs(a, aclOf(allow, alice, opRead, tTopic, pLiteral, "b"))
	// One request, three patterns: one binding of room.
	codes := h.createACLsAs(aclAdmin, 3, aclOf(allow, bob, opRead, tTopic, pLiteral, "c"), aclOf(allow, bob, opRead, tTopic, pLiteral, "d"),
		aclOf(allow, bob, opRead, tTopic, pPrefixed, "e"), a)
	policy := kerr.PolicyViolation.Code
	if want := []int16{0, policy, policy, 0}; !slices.Equal(codes, want) {
		t.Errorf("CreateAcls at the bound: got %v; want %v", codes, want)
	}
	if n := len(h.describedACLs(anyACL)); n != 3 {
		t.Errorf("bindings: got %d; want 3", n)
	}
	if z := h.aclZnodes(); len(z) != 3 {
		t.Errorf("ACL znodes: got %v; want 3", z)
	}
	h.deletedACLs(a.exact())
	if codes := h.createACLsAs(aclAdmin, 3, aclOf(allow, bob, opRead, tTopic, pLiteral, "d")); !slices.Equal(codes, []int16{0}) {
		t.Errorf("CreateAcls after a deletion: got %v; want success", codes)
	}
}

// TestCreateACLsRetriesLostRace: the conditional write of a pattern's
// document that another broker changed after this one read it fails,
// and is retried on what the other broker wrote, keeping both changes.
func TestCreateACLsRetriesLostRace(t *testing.T) {
	peer := aclOf(allow, "User:carol", opRead, tTopic, pLiteral, "orders")
	for _, tc := range []struct {
		name   string
		stored []aclBinding // before the race
	}{
		{name: "update", stored: []aclBinding{aclOf(allow, alice, opRead, tTopic, pLiteral, "orders")}}, // a set conditional on the version read
		{name: "creation"}, // a creation
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := aclHarness(t, nil)
			stored := tc.stored
			if len(stored) > 0 {
				h.mustCreateACLs(stored...)
			}
			mine := aclOf(allow, bob, opWrite, tTopic, pLiteral, "orders")
			req := kmsg.NewPtrCreateACLsRequest()
			req.Creations = append(req.Creations, mine.creation())
			seq, _ := h.sendAs(aclAdmin, 3, req) // its read is done, its answer held
			if h.response(seq) != nil {
				t.Fatal("CreateAcls answered before its read completed")
			}
			var doc []string
			for _, b := range slices.Concat(stored, []aclBinding{peer}) {
				doc = append(doc, fmt.Sprintf(`{"principal":%q,"permissionType":"Allow","operation":%q,"host":"*"}`, b.principal, pascal(b.op)))
			}
			h.writeACLsAsPeer("/kafka-acl/Topic/orders", `{"version":1,"acls":[`+strings.Join(doc, ",")+`]}`)
			h.deliverAll()
			if code := h.mustResponse(seq).(*kmsg.CreateACLsResponse).Results[0].ErrorCode; code != 0 {
				t.Fatalf("CreateAcls that lost a race: got %s; want success", codeName(code))
			}
			want := bindingStrings(slices.Concat(stored, []aclBinding{peer, mine})...)
			if got := h.describedACLs(anyACL); !slices.Equal(got, want) {
				t.Errorf("bindings: got %q; want %q", got, want)
			}
			data, _ := h.znode("/kafka-acl/Topic/orders")
			var stored2 struct{ ACLs []json.RawMessage }
			if err := json.Unmarshal(data, &stored2); err != nil || len(stored2.ACLs) != len(want) {
				t.Errorf("/kafka-acl/Topic/orders: got %s; want the %d entries", data, len(want))
			}
		})
	}
}

func pascal(op kmsg.ACLOperation) string {
	switch op {
	case opRead:
		return "Read"
	case opWrite:
		return "Write"
	}
	panic("pascal: add " + op.String())
}

// TestACLDenialAudited: an action a request names that the authorizer
// refuses is reported (AuthzDenied) with who, from where, what and in
// which request; one allowed is not.
func TestACLDenialAudited(t *testing.T) {
	h, counts := aclHarness(t, nil)
	h.mustCreateACLs(aclOf(allow, alice, opRead, tTopic, pLiteral, "orders"))
	r := core.Request{Conn: 3, Header: core.RequestHeader{Key: 0}, Principal: alice, ClientHost: aliceHost, Listener: "SASL_SSL"}
	ok, effects := h.b.AuthorizeForTest(r, opWrite, tTopic, "orders")
	want := core.AuthzDenied{Conn: 3, Principal: alice, ClientHost: aliceHost, Listener: "SASL_SSL", API: "PRODUCE",
		Resource: "Topic:LITERAL:orders", Operation: "Write"}
	if ok || !reflect.DeepEqual(effects, []core.Effect{want}) {
		t.Errorf("Write denied: got %v, %+v; want denied, %+v", ok, effects, want)
	}
	if n := counts.Of(cover.ACLDenied); n != 1 {
		t.Errorf("denials counted: got %d; want 1", n)
	}
	r.Header.Key = 1
	if ok, effects := h.b.AuthorizeForTest(r, opRead, tTopic, "orders"); !ok || len(effects) != 0 {
		t.Errorf("Read allowed: got %v, %+v; want allowed, nothing reported", ok, effects)
	}
	if ok, effects := h.b.AuthorizeForTest(r, opRead, tGroup, "app"); ok || len(effects) != 1 ||
		effects[0].(core.AuthzDenied).Resource != "Group:LITERAL:app" || effects[0].(core.AuthzDenied).API != "FETCH" {
		t.Errorf("group Read denied: got %v, %+v; want denied, reported for Group:LITERAL:app in FETCH", ok, effects)
	}
}

// TestACLDenialReportsBounded: beyond authorizer.denied.log.max reports
// per principal and address per interval, denials are counted, and the
// count goes with the first report of a later interval.
func TestACLDenialReportsBounded(t *testing.T) {
	h, _ := aclHarness(t, map[string]string{"authorizer.denied.log.max": "2", "authorizer.denied.log.interval.ms": "1000"})
	deny := func(principal, host string) (reported bool, suppressed int64) {
		t.Helper()
		r := core.Request{Conn: 3, Header: core.RequestHeader{Key: 0}, Principal: principal, ClientHost: host, Listener: core.ProtocolPlaintext}
		ok, effects := h.b.AuthorizeForTest(r, opWrite, tTopic, "orders")
		if ok {
			t.Fatalf("%s from %s: got allowed; want denied", principal, host)
		}
		if len(effects) == 0 {
			return false, 0
		}
		d := effects[0].(core.AuthzDenied)
		if len(effects) != 1 || d.Principal != principal || d.ClientHost != host || d.Resource != "Topic:LITERAL:orders" || d.Operation != "Write" {
			t.Fatalf("report: got %+v; want one for %s from %s", effects, principal, host)
		}
		return true, d.Suppressed
	}
	for i := 0; i < 5; i++ {
		reported, _ := deny(alice, aliceHost)
		if reported != (i < 2) {
			t.Errorf("alice's denial %d: got reported=%v; want %v", i, reported, i < 2)
		}
	}
	if reported, s := deny(bob, aliceHost); !reported || s != 0 {
		t.Errorf("bob's denial: got reported=%v suppressed %d; want reported, 0 (another principal)", reported, s)
	}
	if reported, s := deny(alice, "/10.0.0.7"); !reported || s != 0 {
		t.Errorf("alice's denial from another address: got reported=%v suppressed %d; want reported, 0", reported, s)
	}
	h.tick(999)
	if reported, _ := deny(alice, aliceHost); reported {
		t.Error("alice's denial before the interval is over: got reported; want suppressed")
	}
	h.tick(1)
	if reported, s := deny(alice, aliceHost); !reported || s != 4 {
		t.Errorf("alice's first denial of the next interval: got reported=%v suppressed %d; want reported, 4", reported, s)
	}
	if reported, s := deny(alice, aliceHost); !reported || s != 0 {
		t.Errorf("alice's second denial of the next interval: got reported=%v suppressed %d; want reported, 0", reported, s)
	}
	if reported, _ := deny(alice, aliceHost); reported {
		t.Error("alice's third denial of the next interval: got reported; want suppressed")
	}
}

// TestChangeNotificationsPurged: a broker deletes the change
// notifications it has listed for 15 minutes (Kafka's
// changeExpirationMs), at its next listing, and keeps the newer ones.
func TestChangeNotificationsPurged(t *testing.T) {
	h, _ := aclHarness(t, nil)
	h.tick(1)
	h.deliverAll()
	create := func(topic string) {
		req := kmsg.NewPtrCreateACLsRequest()
		c := kmsg.NewCreateACLsRequestCreation()
		c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, topic, kmsg.ACLResourcePatternTypeLiteral
		c.Principal, c.Host, c.Operation, c.PermissionType = "User:alice", "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
		req.Creations = append(req.Creations, c)
		seq, _ := h.sendAs(aclAdmin, 1, req)
		h.deliverAll()
		h.mustResponse(seq)
	}
	notes := func() []string {
		var out []string
		for _, z := range h.coordWrites() {
			if strings.HasPrefix(z.Path, "/kafka-acl-changes/") {
				out = append(out, z.Path)
			}
		}
		return out
	}
	create("a")
	create("b")
	if got := notes(); len(got) != 2 {
		t.Fatalf("notifications after two changes: %v; want 2", got)
	}
	h.tick(15*60*1000 - 10)
	create("c") // listed again: a and b are not 15 minutes old yet
	if got := notes(); len(got) != 3 {
		t.Fatalf("notifications just under 15 minutes on: %v; want all 3", got)
	}
	h.tick(20)
	create("d")
	h.deliverAll()
	got := notes()
	if len(got) != 2 || !strings.HasSuffix(got[0], "0000000002") || !strings.HasSuffix(got[1], "0000000003") {
		t.Fatalf("notifications past 15 minutes: %v; want the two newer ones (c, d)", got)
	}
	// The ACLs themselves stay.
	if ok := h.b.AllowsForTest("User:alice", "/10.0.0.1", kmsg.ACLOperationRead, kmsg.ACLResourceTypeTopic, "a"); !ok {
		t.Errorf("alice's ACL on a after its notification was purged: denied; want allowed")
	}
}
