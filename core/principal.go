package core

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// PrincipalMapper maps a TLS client certificate's subject, a
// distinguished name in RFC 2253 form ("CN=app,OU=eng,O=Org,C=US"), to
// a principal name by ssl.principal.mapping.rules, as Kafka's
// SslPrincipalMapper does: a comma-separated list of rules tried in
// order, the first that applies giving the name.
//
//	DEFAULT                          the whole distinguished name
//	RULE:pattern/replacement/[L|U]   when pattern matches the whole name,
//	                                 the name with every match replaced
//	                                 ($1, $2 … refer to groups), then
//	                                 lower- (L) or upper-cased (U)
//
// When no rule applies, the connection fails authentication. Patterns are
// Go's RE2 regular expressions: what Java's syntax has beyond RE2
// (backreferences in the pattern, lookaround) is refused when the rules
// are read. A replacement refers to groups as Java's does ($12 is group
// 12 only if the pattern has 12 groups; else group 1 and a literal 2;
// a group number beyond the pattern's is literal text; \ escapes).
type PrincipalMapper struct {
	rules []principalRule
}

type principalRule struct {
	isDefault   bool
	whole       *regexp.Regexp // the pattern anchored at both ends: does it apply?
	pattern     *regexp.Regexp // the pattern as written: what to replace
	replacement string
	lower       bool
	upper       bool
}

// Kafka's RULE_PATTERN and RULE_SPLITTER (SslPrincipalMapper), whose
// leftmost-first semantics RE2 shares.
const rulePattern = `(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?)`

var (
	ruleSplitter = regexp.MustCompile(`\s*(` + rulePattern + `)\s*(,\s*|$)`)
	ruleParser   = regexp.MustCompile(`^(?:` + rulePattern + `)`)
)

// ParsePrincipalRules reads ssl.principal.mapping.rules.
func ParsePrincipalRules(rules string) (*PrincipalMapper, error) {
	m := &PrincipalMapper{}
	for _, sm := range ruleSplitter.FindAllStringSubmatch(strings.TrimSpace(rules), -1) {
		rule := sm[1]
		g := ruleParser.FindStringSubmatchIndex(rule)
		if g == nil || g[1] != len(rule) {
			end := 0
			if g != nil {
				end = g[1]
			}
			return nil, fmt.Errorf("ssl.principal.mapping.rules: invalid rule: `%s`, unmatched substring: `%s`", rule, rule[end:])
		}
		group := func(i int) (string, bool) {
			if g[2*i] < 0 {
				return "", false
			}
			return rule[g[2*i]:g[2*i+1]], true
		}
		if _, ok := group(1); ok {
			m.rules = append(m.rules, principalRule{isDefault: true})
			continue
		}
		pat, ok := group(2)
		if !ok {
			continue // an empty rule is ignored
		}
		repl, _ := group(4)
		flag, _ := group(6)
		r, err := newPrincipalRule(pat, repl, flag)
		if err != nil {
			return nil, fmt.Errorf("ssl.principal.mapping.rules: rule `%s`: %v", rule, err)
		}
		m.rules = append(m.rules, r)
	}
	return m, nil
}

func newPrincipalRule(pat, repl, flag string) (principalRule, error) {
	p, err := regexp.Compile(pat)
	if err != nil {
		return principalRule{}, fmt.Errorf("pattern not supported: %v", err)
	}
	whole := regexp.MustCompile(`^(?:` + pat + `)$`)
	if _, err := expandJava(repl, nil, "", p.NumSubexp()); err != nil {
		return principalRule{}, err
	}
	return principalRule{whole: whole, pattern: p, replacement: repl, lower: flag == "L", upper: flag == "U"}, nil
}

// Name is the principal name of a distinguished name (without the
// "User:" type), or an error when no rule applies.
func (m *PrincipalMapper) Name(dn string) (string, error) {
	for _, r := range m.rules {
		if name, ok := r.apply(dn); ok {
			return name, nil
		}
	}
	return "", fmt.Errorf("no rules apply to %s, rules %s", dn, m)
}

func (r principalRule) apply(dn string) (string, bool) {
	if r.isDefault {
		return dn, true
	}
	if !r.whole.MatchString(dn) {
		return "", false
	}
	var b strings.Builder
	last := 0
	for _, loc := range r.pattern.FindAllStringSubmatchIndex(dn, -1) {
		b.WriteString(dn[last:loc[0]])
		s, _ := expandJava(r.replacement, loc, dn, r.pattern.NumSubexp())
		b.WriteString(s)
		last = loc[1]
	}
	b.WriteString(dn[last:])
	out := b.String()
	switch {
	case r.lower:
		out = strings.ToLower(out)
	case r.upper:
		out = strings.ToUpper(out)
	}
	return out, true
}

// expandJava writes a replacement as Java's Matcher.appendReplacement
// does, after Kafka's escaping of group references beyond the pattern's
// groups (they become literal text). With loc nil it only checks the
// replacement.
func expandJava(repl string, loc []int, src string, groups int) (string, error) {
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch {
		case c == '\\':
			if i++; i >= len(repl) {
				return "", fmt.Errorf("character to be escaped is missing in replacement %q", repl)
			}
			b.WriteByte(repl[i])
		case c == '$':
			j := i + 1
			for j < len(repl) && repl[j] >= '0' && repl[j] <= '9' {
				j++
			}
			if j == i+1 {
				return "", fmt.Errorf("illegal group reference in replacement %q (want $ and a group number; \\$ for a dollar sign)", repl)
			}
			digits := repl[i+1 : j]
			n, k := refGroup(digits, groups)
			if n < 0 {
				b.WriteString(repl[i:j]) // beyond the pattern's groups: literal, as Kafka escapes it
			} else {
				if loc != nil && loc[2*n] >= 0 {
					b.WriteString(src[loc[2*n]:loc[2*n+1]])
				}
				b.WriteString(digits[k:])
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// refGroup reads a group reference's digits as Java does: the first digit,
// then each further digit while the number stays within the groups. It
// returns the group and how many digits it used, or -1 when the first
// digit already names no group (Kafka escapes such a reference; a
// reference starting with 0 is group 0).
func refGroup(digits string, groups int) (int, int) {
	n := int(digits[0] - '0')
	if digits[0] != '0' {
		// Kafka's escapeLiteralBackReferences: shorten a too-large number.
		full, _ := strconv.Atoi(digits)
		for full > groups && full >= 10 {
			full /= 10
		}
		if full > groups {
			return -1, 0
		}
	}
	k := 1
	for k < len(digits) {
		next := n*10 + int(digits[k]-'0')
		if next > groups {
			break
		}
		n, k = next, k+1
	}
	return n, k
}

func (m *PrincipalMapper) String() string {
	s := make([]string, len(m.rules))
	for i, r := range m.rules {
		switch {
		case r.isDefault:
			s[i] = "DEFAULT"
		default:
			s[i] = "RULE:" + r.pattern.String() + "/" + r.replacement
			if r.lower {
				s[i] += "/L"
			} else if r.upper {
				s[i] += "/U"
			}
		}
	}
	return "[" + strings.Join(s, ", ") + "]"
}
