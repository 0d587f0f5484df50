package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Quota commands, after kafka-configs.sh --entity-type users/clients and
// rpk cluster quotas: client quotas (producer_byte_rate,
// consumer_byte_rate, request_percentage, controller_mutation_rate)
// through AlterClientQuotas and DescribeClientQuotas.
//
// An entity is a user (the principal's name; ANONYMOUS on PLAINTEXT), a
// client id, or both; --default-user and --default-client-id name the
// default entity of that type (<default>), which applies to every user or
// client id without one of its own. The broker validates the keys and
// values: an unknown key or a value not above 0 is its INVALID_REQUEST,
// reported with its message.

func quotaCommand(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: quota needs a subcommand: alter or describe", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "alter":
		return quotaAlter(ctx, e, rest)
	case "describe", "list", "ls":
		return quotaDescribe(ctx, e, rest)
	default:
		return fmt.Errorf("%w: unknown quota subcommand %q", errUsage, sub)
	}
}

// quotaTypes are the entity types the commands name, in the order an
// entity is printed.
var quotaTypes = []string{"user", "client-id"}

// quotaEntityFlags select one entity type's component: a name, the
// default entity, or (describe only) any entity of the type.
type quotaEntityFlags struct {
	typ        string // "user" or "client-id"
	name       string
	named      bool // the name flag was given (an empty name is the broker's to refuse)
	isDefault  bool
	isAny      bool
	withAny    bool   // describe: --any-user, --any-client-id exist
	flagPrefix string // "user" or "client-id", for the flag names
}

func (q *quotaEntityFlags) register(fs *flag.FlagSet, withAny bool) {
	fs.Func(q.flagPrefix, q.typ+" name", func(v string) error {
		q.name, q.named = v, true
		return nil
	})
	fs.BoolVar(&q.isDefault, "default-"+q.flagPrefix, false, "the default "+q.typ+" entity")
	q.withAny = withAny
	if withAny {
		fs.BoolVar(&q.isAny, "any-"+q.flagPrefix, false, "every "+q.typ+" entity, named or default")
	}
}

// given is how many of the type's selectors were given; more than one is
// a usage error.
func (q *quotaEntityFlags) given() int {
	n := 0
	for _, b := range []bool{q.named, q.isDefault, q.isAny} {
		if b {
			n++
		}
	}
	return n
}

func (q *quotaEntityFlags) check() error {
	if q.given() > 1 {
		flags := "--" + q.flagPrefix + " and --default-" + q.flagPrefix
		if q.withAny {
			flags = "--" + q.flagPrefix + ", --default-" + q.flagPrefix + " and --any-" + q.flagPrefix
		}
		return fmt.Errorf("%w: %s exclude each other", errUsage, flags)
	}
	return nil
}

// component is the entity component for alter (nil name: the default).
func (q *quotaEntityFlags) component() kadm.ClientQuotaEntityComponent {
	c := kadm.ClientQuotaEntityComponent{Type: q.typ}
	if q.named {
		name := q.name
		c.Name = &name
	}
	return c
}

// filter is the describe filter component; ok false when the type is not
// filtered.
func (q *quotaEntityFlags) filter() (kadm.DescribeClientQuotaComponent, bool) {
	c := kadm.DescribeClientQuotaComponent{Type: q.typ}
	switch {
	case q.named:
		name := q.name
		c.MatchName, c.MatchType = &name, 0
	case q.isDefault:
		c.MatchType = 1
	case q.isAny:
		c.MatchType = 2
	default:
		return c, false
	}
	return c, true
}

// newQuotaEntityFlags returns the user and client-id selectors.
func newQuotaEntityFlags(fs *flag.FlagSet, withAny bool) (user, client *quotaEntityFlags) {
	user = &quotaEntityFlags{typ: "user", flagPrefix: "user"}
	client = &quotaEntityFlags{typ: "client-id", flagPrefix: "client-id"}
	user.register(fs, withAny)
	client.register(fs, withAny)
	return user, client
}

func quotaAlter(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("quota alter", &e.g)
	user, client := newQuotaEntityFlags(fs, false)
	var adds, deletes stringsFlag
	fs.Var(&adds, "add", "KEY=VALUE to set (repeatable)")
	fs.Var(&deletes, "delete", "KEY to remove (repeatable)")
	dryRun := fs.Bool("dry-run", false, "have the broker validate the change without storing it")
	if _, err := positional(fs, "quota alter", args, 0); err != nil {
		return err
	}
	for _, q := range []*quotaEntityFlags{user, client} {
		if err := q.check(); err != nil {
			return err
		}
	}
	var entity kadm.ClientQuotaEntity
	for _, q := range []*quotaEntityFlags{user, client} {
		if q.given() > 0 {
			entity = append(entity, q.component())
		}
	}
	if len(entity) == 0 {
		return fmt.Errorf("%w: quota alter needs an entity: --user, --default-user, --client-id or --default-client-id", errUsage)
	}
	ops, err := quotaOps(adds, deletes)
	if err != nil {
		return err
	}
	entry := kadm.AlterClientQuotaEntry{Entity: entity, Ops: ops}
	var res kadm.AlteredClientQuotas
	err = e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		if *dryRun {
			res, err = adm.ValidateAlterClientQuotas(actx, []kadm.AlterClientQuotaEntry{entry})
		} else {
			res, err = adm.AlterClientQuotas(actx, []kadm.AlterClientQuotaEntry{entry})
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("altering client quotas: %w", err)
	}
	if len(res) != 1 {
		return fmt.Errorf("altering client quotas: the broker answered %d entries; want 1", len(res))
	}
	if r := res[0]; r.Err != nil {
		return fmt.Errorf("quotas of %s: %s", quotaEntityString(entity), brokerError(r.Err, r.ErrMessage))
	}
	what := "altered"
	if *dryRun {
		what = "validated (dry run, nothing stored)"
	}
	fmt.Fprintf(e.stdout, "%s quotas of %s: %s\n", what, quotaEntityString(entity), quotaOpsString(ops))
	return nil
}

// quotaOps reads --add KEY=VALUE and --delete KEY; the keys are the
// broker's to check, a key given twice is a usage error.
func quotaOps(adds, deletes []string) ([]kadm.AlterClientQuotaOp, error) {
	if len(adds)+len(deletes) == 0 {
		return nil, fmt.Errorf("%w: quota alter needs --add KEY=VALUE or --delete KEY", errUsage)
	}
	var ops []kadm.AlterClientQuotaOp
	seen := map[string]bool{}
	add := func(op kadm.AlterClientQuotaOp) error {
		if seen[op.Key] {
			return fmt.Errorf("%w: quota key %q given twice", errUsage, op.Key)
		}
		seen[op.Key] = true
		ops = append(ops, op)
		return nil
	}
	for _, kv := range adds {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: --add %q is not KEY=VALUE", errUsage, kv)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("%w: --add %s: value %q is not a number", errUsage, k, v)
		}
		if err := add(kadm.AlterClientQuotaOp{Key: k, Value: f}); err != nil {
			return nil, err
		}
	}
	for _, k := range deletes {
		if k = strings.TrimSpace(k); k == "" {
			return nil, fmt.Errorf("%w: --delete needs a key", errUsage)
		}
		if err := add(kadm.AlterClientQuotaOp{Key: k, Remove: true}); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

func quotaOpsString(ops []kadm.AlterClientQuotaOp) string {
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		if op.Remove {
			parts = append(parts, "deleted "+op.Key)
			continue
		}
		parts = append(parts, "set "+op.Key+"="+quotaValueString(op.Value))
	}
	return strings.Join(parts, ", ")
}

func quotaDescribe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("quota describe", &e.g)
	user, client := newQuotaEntityFlags(fs, true)
	strict := fs.Bool("strict", false, "only entities with exactly the filtered types (no user=U,client-id=C for --user U)")
	output := registerOutput(fs)
	if _, err := positional(fs, "quota describe", args, 0); err != nil {
		return err
	}
	var filters []kadm.DescribeClientQuotaComponent
	for _, q := range []*quotaEntityFlags{user, client} {
		if err := q.check(); err != nil {
			return err
		}
		if c, ok := q.filter(); ok {
			filters = append(filters, c)
		}
	}
	var described kadm.DescribedClientQuotas
	err := e.withAdmin(ctx, func(actx context.Context, adm *kadm.Client) (err error) {
		described, err = adm.DescribeClientQuotas(actx, *strict, filters)
		return err
	})
	if err != nil {
		return fmt.Errorf("describing client quotas: %w", err)
	}
	docs := quotaDocs(described)
	return output.emit(e.stdout, docs, func() error {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ENTITY\tKEY\tVALUE")
		for _, d := range docs {
			for _, q := range d.Quotas {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Name, q.Key, quotaValueString(q.Value))
			}
		}
		return tw.Flush()
	})
}

// quotaJSON is one element of quota describe -o json: an entity and its
// quotas.
type quotaJSON struct {
	Name   string               `json:"name"`   // as the table shows it: "user=alice,client-id=<default>"
	Entity []quotaComponentJSON `json:"entity"` // user first, then client-id
	Quotas []quotaValueJSON     `json:"quotas"` // by key
}

type quotaComponentJSON struct {
	Type string  `json:"type"` // user or client-id
	Name *string `json:"name"` // null for the default entity
}

type quotaValueJSON struct {
	Key   string  `json:"key"`
	Value float64 `json:"value"`
}

// quotaDocs sorts the described entities by name and their quotas by key,
// the order of the table's rows.
func quotaDocs(described kadm.DescribedClientQuotas) []quotaJSON {
	docs := []quotaJSON{}
	for _, d := range described {
		doc := quotaJSON{Name: quotaEntityString(d.Entity), Entity: []quotaComponentJSON{}, Quotas: []quotaValueJSON{}}
		for _, c := range sortedEntity(d.Entity) {
			doc.Entity = append(doc.Entity, quotaComponentJSON{c.Type, c.Name})
		}
		for _, v := range d.Values {
			doc.Quotas = append(doc.Quotas, quotaValueJSON{v.Key, v.Value})
		}
		slices.SortFunc(doc.Quotas, func(a, b quotaValueJSON) int { return strings.Compare(a.Key, b.Key) })
		docs = append(docs, doc)
	}
	slices.SortFunc(docs, func(a, b quotaJSON) int { return strings.Compare(a.Name, b.Name) })
	return docs
}

// quotaEntityString is an entity as the tables show it,
// "user=alice,client-id=app", "user=<default>": user first, then
// client-id, then any other type the broker names.
func quotaEntityString(entity kadm.ClientQuotaEntity) string {
	sorted := sortedEntity(entity)
	parts := make([]string, 0, len(sorted))
	for _, c := range sorted {
		parts = append(parts, c.String())
	}
	return strings.Join(parts, ",")
}

// sortedEntity is entity's components, user first, then client-id, then
// any other type the broker names.
func sortedEntity(entity kadm.ClientQuotaEntity) kadm.ClientQuotaEntity {
	sorted := slices.Clone(entity)
	slices.SortStableFunc(sorted, func(a, b kadm.ClientQuotaEntityComponent) int {
		rank := func(t string) int {
			if i := slices.Index(quotaTypes, t); i >= 0 {
				return i
			}
			return len(quotaTypes)
		}
		return rank(a.Type) - rank(b.Type)
	})
	return sorted
}

// quotaValueString prints a value without a fraction when it has none
// (the byte rates are whole numbers).
func quotaValueString(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
