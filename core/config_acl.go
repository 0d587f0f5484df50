package core

import (
	"fmt"
	"math"
	"strings"
)

// Authorizer configuration, with Kafka's property names. Setting
// authorizer.class.name to Kafka's ZooKeeper-backed authorizer turns on
// ACL checks (acl.go); with it unset every request is allowed, as in
// Kafka, and the ACL APIs answer SECURITY_DISABLED.
type aclConfig struct {
	// Enabled: authorizer.class.name names Kafka's AclAuthorizer (or
	// its pre-2.4 name, SimpleAclAuthorizer).
	Enabled bool
	// SuperUsers are super.users' principals ("User:admin"): allowed
	// everything, whatever the ACLs say.
	SuperUsers []string
	// AllowIfNoACL is allow.everyone.if.no.acl.found: a resource no ACL
	// names is open to all (except where a wildcard deny applies).
	AllowIfNoACL bool
	// BindingsMax bounds the ACL bindings CreateAcls lets this broker
	// add to the store (authorizer.acl.bindings.max); a creation that
	// would pass it is refused.
	BindingsMax int
	// DeniedLogMax authorization denials are logged per principal and
	// client address per DeniedLogIntervalMs; beyond it they are
	// counted and the count is logged with the next one logged.
	// AuditKeysMax bounds the (principal, address) pairs tracked.
	DeniedLogMax        int64
	DeniedLogIntervalMs int64
	AuditKeysMax        int
}

// Kafka's authorizer class names. The ZooKeeper-backed one took the
// second name in 2.4; both are read as the same authorizer.
const (
	aclAuthorizerClass       = "kafka.security.authorizer.AclAuthorizer"
	simpleACLAuthorizerClass = "kafka.security.auth.SimpleAclAuthorizer"
)

var aclProperties = []property{
	{name: "authorizer.class.name", def: "", apply: func(c *Config, v string) error {
		switch v = strings.TrimSpace(v); v {
		case "":
			c.ACL.Enabled = false
		case aclAuthorizerClass, simpleACLAuthorizerClass:
			c.ACL.Enabled = true
		default:
			return fmt.Errorf("authorizer.class.name: class %s cannot be found (the authorizer served is %s)", v, aclAuthorizerClass)
		}
		return nil
	}},
	{name: "super.users", def: "", apply: func(c *Config, v string) error {
		c.ACL.SuperUsers = nil
		for _, p := range strings.Split(v, ";") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if err := checkPrincipal(p); err != nil {
				return fmt.Errorf("super.users: %v", err)
			}
			c.ACL.SuperUsers = append(c.ACL.SuperUsers, p)
		}
		return nil
	}},
	boolProp("allow.everyone.if.no.acl.found", "false", func(c *Config, b bool) { c.ACL.AllowIfNoACL = b }),
	intProp("authorizer.acl.bindings.max", "100000", 1, 1<<24, func(c *Config, n int64) { c.ACL.BindingsMax = int(n) }, ""),
	intProp("authorizer.denied.log.max", "10", 0, math.MaxInt32, func(c *Config, n int64) { c.ACL.DeniedLogMax = n }, ""),
	intProp("authorizer.denied.log.interval.ms", "60000", 1, math.MaxInt32, func(c *Config, n int64) { c.ACL.DeniedLogIntervalMs = n }, ""),
	intProp("authorizer.audit.keys.max", "10000", 1, 1<<24, func(c *Config, n int64) { c.ACL.AuditKeysMax = int(n) }, ""),
}

func init() { properties = append(properties, aclProperties...) }

// checkPrincipal checks a principal's form, "<type>:<name>", as Kafka's
// SecurityUtils.parseKafkaPrincipal does.
func checkPrincipal(p string) error {
	if !strings.Contains(p, ":") {
		return fmt.Errorf("expected a string in format principalType:principalName but got %s", p)
	}
	return nil
}
