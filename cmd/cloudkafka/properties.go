package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// readProperties reads a properties file the way Kafka reads
// server.properties (java.util.Properties.load): see parseProperties.
// Values are trimmed, as Kafka's ConfigDef trims them when it parses.
func readProperties(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read properties: %w", err)
	}
	props, err := parseProperties(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for k, v := range props {
		props[k] = strings.TrimSpace(v)
	}
	return props, nil
}

// parseProperties parses the Java properties format as
// java.util.Properties.load does, so that every file Kafka accepts is read
// the same way:
//
//   - Lines end at \n, \r or \r\n. Leading spaces, tabs and form feeds are
//     skipped; a line that is then empty, or starts with # or !, is ignored.
//   - A line ending in an odd number of backslashes continues on the next,
//     whose leading whitespace is skipped.
//   - The key ends at the first unescaped '=', ':' or whitespace; after it,
//     whitespace and at most one '=' or ':' are skipped. The rest is the
//     value ("key value", "key=value" and "key: value" are all one pair).
//   - Escapes in keys and values: \t \n \r \f, \uXXXX, and a backslash
//     before any other character stands for that character.
//   - A later line for the same key wins.
//
// One difference remains: Java reads the file as ISO-8859-1; this reads
// UTF-8, which only matters for non-ASCII bytes.
func parseProperties(src string) (map[string]string, error) {
	props := map[string]string{}
	lines := naturalLines(src)
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := trimLeftBlank(lines[i])
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for continues(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + trimLeftBlank(lines[i])
		}
		if continues(line) { // a continuation at the end of the file
			line = line[:len(line)-1]
		}
		k, v, err := splitProperty(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		props[k] = v
	}
	return props, nil
}

func naturalLines(src string) []string {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	return strings.Split(src, "\n")
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

func trimLeftBlank(s string) string { return strings.TrimLeft(s, " \t\f") }

// continues reports whether line ends in an odd number of backslashes.
func continues(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitProperty splits one logical line into its unescaped key and value.
func splitProperty(line string) (string, string, error) {
	keyLen, valueStart, hasSep, escaped := 0, len(line), false, false
	for ; keyLen < len(line); keyLen++ {
		c := line[keyLen]
		if !escaped && (c == '=' || c == ':') {
			valueStart, hasSep = keyLen+1, true
			break
		}
		if !escaped && isBlank(c) {
			valueStart = keyLen + 1
			break
		}
		escaped = c == '\\' && !escaped
	}
	for ; valueStart < len(line); valueStart++ {
		c := line[valueStart]
		if isBlank(c) {
			continue
		}
		if hasSep || (c != '=' && c != ':') {
			break
		}
		hasSep = true
	}
	key, err := unescape(line[:keyLen])
	if err != nil {
		return "", "", err
	}
	value, err := unescape(line[valueStart:])
	return key, value, err
}

// unescape resolves the escapes of the properties format.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			break
		}
		switch c := s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\uxxxx encoding in %q", s)
			}
			r, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("malformed \\uxxxx encoding in %q", s)
			}
			b.WriteRune(rune(r))
			i += 4
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
