package core

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ACLs, with the semantics of Kafka's ZooKeeper-backed AclAuthorizer.
//
// A binding is a resource pattern (type, literal or prefixed, name) and
// an entry (principal, host, operation, allow or deny). A request's
// action (operation on a named resource) is allowed when its principal
// is a super user; else the ACLs that apply are those of the literal
// name, of the wildcard name "*" and of every prefix of the name. With
// none, allow.everyone.if.no.acl.found decides. A deny entry matching
// the principal (or User:*), the client's address (or *) and the
// operation (or All) refuses; else an allow entry matching the same way
// allows, where allowing Read, Write, Delete or Alter allows Describe and
// allowing AlterConfigs allows DescribeConfigs.
//
// The store is Kafka's: each literal pattern's entries are a JSON
// document at /kafka-acl/<Type>/<name>, each prefixed one's at
// /kafka-acl-extended/prefixed/<Type>/<name>. A broker that changes
// them writes a sequential notification (/kafka-acl-changes/acl_changes_N
// holding "<TYPE>:<name>", /kafka-acl-extended-changes/acl_changes_N a
// JSON event); every broker watches both and rereads the resource named.
// The cache is filled from the recovered store at start, reloaded at
// each registration, and updated by the notifications and by the
// broker's own writes, which it applies before answering.

const (
	zkACL                = "/kafka-acl"
	zkACLPrefixed        = "/kafka-acl-extended/prefixed"
	zkACLChanges         = "/kafka-acl-changes"
	zkACLExtendedChanges = "/kafka-acl-extended-changes"
	aclChangePrefix      = "acl_changes_"

	// clusterResource is the only name of the cluster resource.
	clusterResource = "kafka-cluster"
	wildcardName    = "*"
	wildcardUser    = "User:*"
	wildcardHost    = "*"
)

// aclResource is a resource pattern: a literal or prefixed name of a
// resource type.
type aclResource struct {
	Type    kmsg.ACLResourceType
	Pattern kmsg.ACLResourcePatternType
	Name    string
}

func (r aclResource) String() string {
	return fmt.Sprintf("%s:%s:%s", pascalCase(r.Type.String()), r.Pattern, r.Name)
}

// aclEntry is one access control entry of a resource pattern.
type aclEntry struct {
	Principal  string
	Host       string
	Operation  kmsg.ACLOperation
	Permission kmsg.ACLPermissionType
}

func compareEntries(a, b aclEntry) int {
	if c := strings.Compare(a.Principal, b.Principal); c != 0 {
		return c
	}
	if c := strings.Compare(a.Host, b.Host); c != 0 {
		return c
	}
	if a.Operation != b.Operation {
		return int(a.Operation) - int(b.Operation)
	}
	return int(a.Permission) - int(b.Permission)
}

// aclState is the broker's copy of the ACLs.
type aclState struct {
	// resources holds each pattern's entries, sorted and distinct,
	// never empty; count the entries in all.
	resources map[aclResource][]aclEntry
	count     int
	// reserved counts the bindings CreateAcls is adding, from the read
	// of a pattern's document until its write is done: the bound on
	// bindings (authorizer.acl.bindings.max) counts them with count.
	reserved int
	// prefixLens lists, per resource type, the lengths of the prefixed
	// names that have entries (with repetitions, one per name), so that
	// a check looks up only the prefixes that may exist.
	prefixLens map[kmsg.ACLResourceType][]int
	// epoch orders reloads: a read begun under an older epoch is
	// dropped. seen holds, per change path, the last notification
	// processed.
	epoch int
	seen  map[string]string
	// reloadAt, when set, is when to reload after a read failed.
	reloadAt Instant
	// audit bounds the denial log lines (acl_audit.go).
	audit auditState
}

// aclTypes are the resource types ACLs name, with their store names.
var aclTypes = []kmsg.ACLResourceType{
	kmsg.ACLResourceTypeTopic, kmsg.ACLResourceTypeGroup, kmsg.ACLResourceTypeCluster,
	kmsg.ACLResourceTypeTransactionalId, kmsg.ACLResourceTypeDelegationToken, kmsg.ACLResourceTypeUser,
}

// pascalCase is Kafka's SecurityUtils.toPascalCase of an enum name:
// "TRANSACTIONAL_ID" is "TransactionalId".
func pascalCase(s string) string {
	var b strings.Builder
	upper := true
	for _, c := range s {
		switch {
		case c == '_':
			upper = true
		case upper:
			b.WriteRune(c)
			upper = false
		default:
			b.WriteString(strings.ToLower(string(c)))
		}
	}
	return b.String()
}

// aclName reads a resource type, operation or permission name as
// Kafka's SecurityUtils does: its Pascal-case name, or any spelling that
// upper-cased is that name upper-cased ("ClusterAction",
// "CLUSTERACTION", "clusterAction").
func aclName[T ~int8](s string, values []T, str func(T) string) (T, bool) {
	for _, v := range values {
		p := pascalCase(str(v))
		if s == p || strings.ToUpper(s) == strings.ToUpper(p) {
			return v, true
		}
	}
	return 0, false
}

var aclOperations = []kmsg.ACLOperation{
	kmsg.ACLOperationAll, kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate,
	kmsg.ACLOperationDelete, kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe, kmsg.ACLOperationClusterAction,
	kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite,
	kmsg.ACLOperationCreateTokens, kmsg.ACLOperationDescribeTokens,
}

var aclPermissions = []kmsg.ACLPermissionType{kmsg.ACLPermissionTypeDeny, kmsg.ACLPermissionTypeAllow}

func parseResourceType(s string) (kmsg.ACLResourceType, bool) {
	return aclName(s, aclTypes, kmsg.ACLResourceType.String)
}

// aclDocument is the JSON document of a resource pattern's entries.
type aclDocument struct {
	Version int            `json:"version"`
	ACLs    []aclEntryJSON `json:"acls"`
}

type aclEntryJSON struct {
	Principal      string `json:"principal"`
	PermissionType string `json:"permissionType"`
	Operation      string `json:"operation"`
	Host           string `json:"host"`
}

// encodeACLs is a resource pattern's document.
func encodeACLs(entries []aclEntry) []byte {
	doc := aclDocument{Version: 1, ACLs: make([]aclEntryJSON, 0, len(entries))}
	for _, e := range entries {
		doc.ACLs = append(doc.ACLs, aclEntryJSON{Principal: e.Principal, PermissionType: pascalCase(e.Permission.String()),
			Operation: pascalCase(e.Operation.String()), Host: e.Host})
	}
	return mustJSON(doc)
}

// decodeACLs reads a resource pattern's document (nil: no entries).
// Entries it cannot read are an error, as in Kafka.
func decodeACLs(data []byte) ([]aclEntry, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var doc aclDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Version != 1 {
		return nil, fmt.Errorf("unsupported ACL document version %d", doc.Version)
	}
	var out []aclEntry
	for _, j := range doc.ACLs {
		op, ok1 := aclName(j.Operation, aclOperations, kmsg.ACLOperation.String)
		perm, ok2 := aclName(j.PermissionType, aclPermissions, kmsg.ACLPermissionType.String)
		if !ok1 || !ok2 || checkPrincipal(j.Principal) != nil {
			return nil, fmt.Errorf("unreadable ACL entry %+v", j)
		}
		out = append(out, aclEntry{Principal: j.Principal, Host: j.Host, Operation: op, Permission: perm})
	}
	return normalizeEntries(out), nil
}

// normalizeEntries sorts entries and drops repetitions.
func normalizeEntries(entries []aclEntry) []aclEntry {
	slices.SortFunc(entries, compareEntries)
	return slices.Compact(entries)
}

// aclPath is the znode of a resource pattern's entries.
func aclPath(r aclResource) string {
	root := zkACL
	if r.Pattern == kmsg.ACLResourcePatternTypePrefixed {
		root = zkACLPrefixed
	}
	return root + "/" + pascalCase(r.Type.String()) + "/" + r.Name
}

// aclChange is the notification of a change to a resource pattern: its
// path and data.
func aclChange(r aclResource) (string, []byte) {
	if r.Pattern == kmsg.ACLResourcePatternTypeLiteral {
		return zkACLChanges + "/" + aclChangePrefix, []byte(r.Type.String() + ":" + r.Name)
	}
	return zkACLExtendedChanges + "/" + aclChangePrefix, mustJSON(aclChangeEvent{Version: 1, ResourceType: r.Type.String(),
		Name: r.Name, PatternType: r.Pattern.String()})
}

// aclChangeEvent is Kafka's ExtendedAclChangeEvent.
type aclChangeEvent struct {
	Version      int    `json:"version"`
	ResourceType string `json:"resourceType"`
	Name         string `json:"name"`
	PatternType  string `json:"patternType"`
}

// parseACLChange reads a notification of changePath.
func parseACLChange(changePath string, data []byte) (aclResource, bool) {
	if changePath == zkACLChanges {
		typ, name, ok := strings.Cut(string(data), ":")
		if !ok {
			return aclResource{}, false
		}
		t, ok := changeType(typ)
		return aclResource{Type: t, Pattern: kmsg.ACLResourcePatternTypeLiteral, Name: name}, ok
	}
	var ev aclChangeEvent
	if json.Unmarshal(data, &ev) != nil || ev.Version > 1 {
		return aclResource{}, false
	}
	t, ok := changeType(ev.ResourceType)
	if !ok || !strings.EqualFold(ev.PatternType, "PREFIXED") {
		return aclResource{}, false
	}
	return aclResource{Type: t, Pattern: kmsg.ACLResourcePatternTypePrefixed, Name: ev.Name}, true
}

// changeType reads a notification's resource type ("TOPIC", or the
// "Topic" of Kafka before 2.0).
func changeType(s string) (kmsg.ACLResourceType, bool) {
	t, err := kmsg.ParseACLResourceType(s)
	return t, err == nil && slices.Contains(aclTypes, t)
}

// aclFilter is a filter over bindings (Kafka's AclBindingFilter), as
// DescribeAcls and DeleteAcls carry it: any field nil or ANY matches
// every value; a MATCH pattern type matches the patterns that apply to
// the name (the literal name, the wildcard, its prefixes).
type aclFilter struct {
	Type       kmsg.ACLResourceType
	Pattern    kmsg.ACLResourcePatternType
	Name       *string
	Principal  *string
	Host       *string
	Operation  kmsg.ACLOperation
	Permission kmsg.ACLPermissionType
}

// invalid says what of the filter is unknown, or "".
func (f aclFilter) invalid() string {
	switch {
	case f.Type <= kmsg.ACLResourceTypeUnknown || f.Type > kmsg.ACLResourceTypeUser:
		return "resource type"
	case f.Pattern <= kmsg.ACLResourcePatternTypeUnknown || f.Pattern > kmsg.ACLResourcePatternTypePrefixed:
		return "pattern type"
	case f.Operation <= kmsg.ACLOperationUnknown || f.Operation > kmsg.ACLOperationDescribeTokens:
		return "operation"
	case f.Permission <= kmsg.ACLPermissionTypeUnknown || f.Permission > kmsg.ACLPermissionTypeAllow:
		return "permission type"
	}
	return ""
}

// matchesResource is Kafka's ResourcePatternFilter.matches.
func (f aclFilter) matchesResource(r aclResource) bool {
	if f.Type != kmsg.ACLResourceTypeAny && f.Type != r.Type {
		return false
	}
	if f.Pattern != kmsg.ACLResourcePatternTypeAny && f.Pattern != kmsg.ACLResourcePatternTypeMatch && f.Pattern != r.Pattern {
		return false
	}
	if f.Name == nil {
		return true
	}
	if f.Pattern == kmsg.ACLResourcePatternTypeAny || f.Pattern == r.Pattern {
		return *f.Name == r.Name
	}
	if r.Pattern == kmsg.ACLResourcePatternTypeLiteral {
		return *f.Name == r.Name || r.Name == wildcardName
	}
	return strings.HasPrefix(*f.Name, r.Name)
}

// matchesEntry is Kafka's AccessControlEntryFilter.matches.
func (f aclFilter) matchesEntry(e aclEntry) bool {
	return (f.Principal == nil || *f.Principal == e.Principal) &&
		(f.Host == nil || *f.Host == e.Host) &&
		(f.Operation == kmsg.ACLOperationAny || f.Operation == e.Operation) &&
		(f.Permission == kmsg.ACLPermissionTypeAny || f.Permission == e.Permission)
}

// exactResources are the patterns a filter names whatever the cache
// holds (Kafka's filterToResources of a filter matching at most one
// resource per pattern type): a named resource of one type, literal,
// prefixed or either.
func (f aclFilter) exactResources() []aclResource {
	if f.Name == nil || f.Type == kmsg.ACLResourceTypeAny {
		return nil
	}
	switch f.Pattern {
	case kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLResourcePatternTypePrefixed:
		return []aclResource{{Type: f.Type, Pattern: f.Pattern, Name: *f.Name}}
	case kmsg.ACLResourcePatternTypeAny:
		return []aclResource{{Type: f.Type, Pattern: kmsg.ACLResourcePatternTypeLiteral, Name: *f.Name},
			{Type: f.Type, Pattern: kmsg.ACLResourcePatternTypePrefixed, Name: *f.Name}}
	}
	return nil
}
