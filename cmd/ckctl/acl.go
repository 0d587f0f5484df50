package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ACL commands, after kafka-acls.sh and rpk acl: CreateAcls, DescribeAcls
// and DeleteAcls through kadm's ACLBuilder, which multiplies principals,
// hosts, resources and operations into bindings (create) or filters
// (list, delete). The broker answers SECURITY_DISABLED unless it runs an
// authorizer, and CLUSTER_AUTHORIZATION_FAILED unless the principal may
// Describe (list) or Alter (create, delete) the cluster.
//
// A principal without a type ("alice") is a user's ("User:alice"). The
// resource selectors are --topic, --group, --transactional-id (each
// repeatable) and --cluster; list and delete without one match every
// resource, which delete allows only with --all.

func aclCommand(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: acl needs a subcommand: create, list or delete", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return aclCreate(ctx, e, rest)
	case "list", "ls", "describe":
		return aclList(ctx, e, rest)
	case "delete", "rm":
		return aclDelete(ctx, e, rest)
	default:
		return fmt.Errorf("%w: unknown acl subcommand %q", errUsage, sub)
	}
}

// stringsFlag collects a repeatable flag's values in order.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }

func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// aclSelection is what create, list and delete share: the resources,
// their pattern type and the operations.
type aclSelection struct {
	topics, groups, txnIDs stringsFlag
	cluster                bool
	pattern                string
	operations             stringsFlag
}

func (s *aclSelection) register(fs *flag.FlagSet, patternDefault, patterns string) {
	fs.Var(&s.topics, "topic", "topic name (repeatable)")
	fs.Var(&s.groups, "group", "group id (repeatable)")
	fs.Var(&s.txnIDs, "transactional-id", "transactional id (repeatable)")
	fs.BoolVar(&s.cluster, "cluster", false, "the cluster resource")
	fs.StringVar(&s.pattern, "resource-pattern-type", patternDefault, patterns)
	fs.Var(&s.operations, "operation", "operation (repeatable, or comma-separated)")
}

// hasResource says whether any resource selector was given.
func (s *aclSelection) hasResource() bool {
	return len(s.topics)+len(s.groups)+len(s.txnIDs) > 0 || s.cluster
}

// builder starts a builder with the selected resources, pattern type and
// operations. For a filter (list, delete) no resource selector matches
// every resource and no operation every operation; a creation needs both.
func (s *aclSelection) builder(filter bool) (*kadm.ACLBuilder, error) {
	pattern, err := kmsg.ParseACLResourcePatternType(s.pattern)
	valid := pattern == kmsg.ACLResourcePatternTypeLiteral || pattern == kmsg.ACLResourcePatternTypePrefixed ||
		filter && (pattern == kmsg.ACLResourcePatternTypeAny || pattern == kmsg.ACLResourcePatternTypeMatch)
	if err != nil || !valid {
		want := "literal or prefixed"
		if filter {
			want = "any, match, literal or prefixed"
		}
		return nil, fmt.Errorf("%w: --resource-pattern-type %q: want %s", errUsage, s.pattern, want)
	}
	ops, err := parseOperations(s.operations, filter)
	if err != nil {
		return nil, err
	}
	if !filter && len(ops) == 0 {
		return nil, fmt.Errorf("%w: acl create needs --operation", errUsage)
	}
	if !filter && !s.hasResource() {
		return nil, fmt.Errorf("%w: acl create needs a resource: --topic, --group, --cluster or --transactional-id", errUsage)
	}
	b := kadm.NewACLs().ResourcePatternType(pattern).Operations(ops...)
	if !s.hasResource() {
		return b.AnyResource(), nil
	}
	// The Maybe forms: no names of a type select none of that type.
	return b.MaybeTopics(s.topics...).MaybeGroups(s.groups...).MaybeTransactionalIDs(s.txnIDs...).MaybeClusters(s.cluster), nil
}

// parseOperations reads operation names, case-insensitive, with or
// without underscores ("cluster_action", "ClusterAction"). "any" is only
// a filter's.
func parseOperations(names []string, filter bool) ([]kadm.ACLOperation, error) {
	var ops []kadm.ACLOperation
	for _, list := range names {
		for _, name := range strings.Split(list, ",") {
			op, err := kmsg.ParseACLOperation(name)
			if op == kadm.OpAny && !filter {
				return nil, fmt.Errorf("%w: operation any is a filter's (acl list, acl delete), not a binding's", errUsage)
			}
			if err != nil || op == kadm.OpUnknown {
				known := "read, write, create, delete, alter, describe, cluster_action, describe_configs, alter_configs, idempotent_write, all"
				if filter {
					known += ", any"
				}
				return nil, fmt.Errorf("%w: unknown operation %q (%s)", errUsage, name, known)
			}
			if !slices.Contains(ops, op) {
				ops = append(ops, op)
			}
		}
	}
	return ops, nil
}

// principals gives each bare name the User type.
func principals(names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, p := range names {
		if p == "" {
			return nil, fmt.Errorf("%w: empty principal", errUsage)
		}
		if !strings.Contains(p, ":") {
			p = "User:" + p
		}
		out = append(out, p)
	}
	return out, nil
}

func aclCreate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("acl create", &e.g)
	var allow, deny, allowHosts, denyHosts stringsFlag
	fs.Var(&allow, "allow-principal", "principal to allow (repeatable)")
	fs.Var(&deny, "deny-principal", "principal to deny (repeatable)")
	fs.Var(&allowHosts, "allow-host", "host the allowed principals are allowed from (repeatable; default *)")
	fs.Var(&denyHosts, "deny-host", "host the denied principals are denied from (repeatable; default *)")
	var sel aclSelection
	sel.register(fs, "literal", "literal or prefixed")
	if _, err := positional(fs, "acl create", args, 0); err != nil {
		return err
	}
	switch {
	case len(allow)+len(deny) == 0:
		return fmt.Errorf("%w: acl create needs --allow-principal or --deny-principal", errUsage)
	case len(allowHosts) > 0 && len(allow) == 0:
		return fmt.Errorf("%w: --allow-host needs --allow-principal", errUsage)
	case len(denyHosts) > 0 && len(deny) == 0:
		return fmt.Errorf("%w: --deny-host needs --deny-principal", errUsage)
	}
	b, err := sel.builder(false)
	if err != nil {
		return err
	}
	allowP, err := principals(allow)
	if err != nil {
		return err
	}
	denyP, err := principals(deny)
	if err != nil {
		return err
	}
	b.MaybeAllow(allowP...).MaybeAllowHosts(orWildcard(allow, allowHosts)...)
	b.MaybeDeny(denyP...).MaybeDenyHosts(orWildcard(deny, denyHosts)...)
	var res kadm.CreateACLsResults
	err = e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		res, err = adm.CreateACLs(actx, b)
		return err
	})
	if err != nil {
		return fmt.Errorf("creating ACLs: %w", err)
	}
	var created []aclRow
	var failed []string
	for _, r := range res {
		row := aclRow{r.Principal, r.Host, r.Type, r.Name, r.Pattern, r.Operation, r.Permission}
		if r.Err != nil {
			failed = append(failed, fmt.Sprintf("%s: %s", row, brokerError(r.Err, r.ErrMessage)))
			continue
		}
		created = append(created, row)
	}
	if len(created) > 0 {
		if err := printACLs(e, created); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d ACLs not created: %s", len(failed), len(res), strings.Join(failed, "; "))
	}
	return nil
}

// orWildcard is hosts, or every host ("*") when principals are given
// without hosts.
func orWildcard(principals, hosts []string) []string {
	if len(principals) > 0 && len(hosts) == 0 {
		return []string{"*"}
	}
	return hosts
}

// aclFilterFlags are list's and delete's filters: the selection plus
// principals, hosts and the permission.
type aclFilterFlags struct {
	sel        aclSelection
	principals stringsFlag
	hosts      stringsFlag
	permission string
}

func (f *aclFilterFlags) register(fs *flag.FlagSet) {
	f.sel.register(fs, "any", "any, match, literal or prefixed")
	fs.Var(&f.principals, "principal", "principal (repeatable)")
	fs.Var(&f.hosts, "host", "host (repeatable)")
	fs.StringVar(&f.permission, "permission", "any", "allow, deny or any")
}

// builder is the filter's builder. A permission of any, with principals
// or hosts, becomes one filter for allow entries and one for deny
// entries (the builder keeps them apart); with neither, a single filter.
func (f *aclFilterFlags) builder() (*kadm.ACLBuilder, error) {
	perm, err := kmsg.ParseACLPermissionType(f.permission)
	if err != nil {
		return nil, fmt.Errorf("%w: --permission %q: want allow, deny or any", errUsage, f.permission)
	}
	b, err := f.sel.builder(true)
	if err != nil {
		return nil, err
	}
	ps, err := principals(f.principals)
	if err != nil {
		return nil, err
	}
	// Allow() and AllowHosts() with no arguments match any.
	if perm != kmsg.ACLPermissionTypeDeny {
		b.Allow(ps...).AllowHosts(f.hosts...)
	}
	if perm != kmsg.ACLPermissionTypeAllow {
		b.Deny(ps...).DenyHosts(f.hosts...)
	}
	return b, nil
}

func aclList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("acl list", &e.g)
	var f aclFilterFlags
	f.register(fs)
	output := registerOutput(fs)
	if _, err := positional(fs, "acl list", args, 0); err != nil {
		return err
	}
	b, err := f.builder()
	if err != nil {
		return err
	}
	var res kadm.DescribeACLsResults
	err = e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		res, err = adm.DescribeACLs(actx, b)
		return err
	})
	if err != nil {
		return fmt.Errorf("describing ACLs: %w", err)
	}
	var rows []aclRow
	var failed []string
	for _, r := range res {
		if r.Err != nil {
			failed = append(failed, brokerError(r.Err, r.ErrMessage))
			continue
		}
		for _, d := range r.Described {
			rows = append(rows, aclRow{d.Principal, d.Host, d.Type, d.Name, d.Pattern, d.Operation, d.Permission})
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("describing ACLs: %s", joinDistinct(failed))
	}
	rows = sortACLs(rows)
	docs := []aclJSON{}
	for _, r := range rows {
		docs = append(docs, r.json())
	}
	return output.emit(e.stdout, docs, func() error { return printACLs(e, rows) })
}

func aclDelete(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("acl delete", &e.g)
	var f aclFilterFlags
	f.register(fs)
	all := fs.Bool("all", false, "match every resource (no resource selector)")
	if _, err := positional(fs, "acl delete", args, 0); err != nil {
		return err
	}
	switch {
	case !f.sel.hasResource() && !*all:
		return fmt.Errorf("%w: acl delete needs --topic, --group, --cluster or --transactional-id, or --all for every resource", errUsage)
	case f.sel.hasResource() && *all:
		return fmt.Errorf("%w: acl delete takes --all or resource selectors, not both", errUsage)
	}
	b, err := f.builder()
	if err != nil {
		return err
	}
	var res kadm.DeleteACLsResults
	err = e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		res, err = adm.DeleteACLs(actx, b)
		return err
	})
	if err != nil {
		return fmt.Errorf("deleting ACLs: %w", err)
	}
	var deleted []aclRow
	var failed []string
	for _, r := range res {
		if r.Err != nil {
			failed = append(failed, brokerError(r.Err, r.ErrMessage))
			continue
		}
		for _, d := range r.Deleted {
			row := aclRow{d.Principal, d.Host, d.Type, d.Name, d.Pattern, d.Operation, d.Permission}
			if d.Err != nil {
				failed = append(failed, fmt.Sprintf("%s: %s", row, brokerError(d.Err, d.ErrMessage)))
				continue
			}
			deleted = append(deleted, row)
		}
	}
	if len(deleted) == 0 && len(failed) == 0 {
		fmt.Fprintln(e.stdout, "no ACL matched; none deleted")
		return nil
	}
	if len(deleted) > 0 {
		if err := printACLs(e, deleted); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("deleting ACLs: %s", joinDistinct(failed))
	}
	return nil
}

// aclRow is one binding as the tables show it.
type aclRow struct {
	principal  string
	host       string
	typ        kmsg.ACLResourceType
	name       string
	pattern    kmsg.ACLResourcePatternType
	operation  kmsg.ACLOperation
	permission kmsg.ACLPermissionType
}

func (r aclRow) fields() []string {
	return []string{r.principal, r.host, r.typ.String(), r.name, r.pattern.String(), r.operation.String(), r.permission.String()}
}

// String is the binding in a message: the name quoted, for it may be
// empty.
func (r aclRow) String() string {
	f := r.fields()
	f[3] = strconv.Quote(f[3])
	return strings.Join(f, " ")
}

// aclJSON is one element of acl list -o json.
type aclJSON struct {
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	ResourceType string `json:"resourceType"` // TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID
	ResourceName string `json:"resourceName"`
	PatternType  string `json:"patternType"` // LITERAL or PREFIXED
	Operation    string `json:"operation"`
	Permission   string `json:"permission"` // ALLOW or DENY
}

func (r aclRow) json() aclJSON {
	f := r.fields()
	return aclJSON{f[0], f[1], f[2], f[3], f[4], f[5], f[6]}
}

// sortACLs sorts the bindings column by column and keeps each once
// (filters of one request may match the same binding).
func sortACLs(rows []aclRow) []aclRow {
	slices.SortFunc(rows, func(a, b aclRow) int { return slices.Compare(a.fields(), b.fields()) })
	return slices.Compact(rows)
}

// printACLs prints the bindings as a table, sorted by sortACLs.
func printACLs(e *env, rows []aclRow) error {
	rows = sortACLs(rows)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINCIPAL\tHOST\tRESOURCE-TYPE\tRESOURCE-NAME\tPATTERN\tOPERATION\tPERMISSION")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r.fields(), "\t"))
	}
	return tw.Flush()
}

// joinDistinct joins the distinct messages, sorted: the filters of one
// request often fail alike.
func joinDistinct(msgs []string) string {
	slices.Sort(msgs)
	return strings.Join(slices.Compact(msgs), "; ")
}

// brokerError is a Kafka error code with the broker's message, which
// says more than the code's generic description when there is one.
func brokerError(err error, msg string) string {
	var ke *kerr.Error
	if msg != "" && errors.As(err, &ke) {
		return ke.Message + ": " + msg
	}
	return err.Error() + errMessage(msg)
}
