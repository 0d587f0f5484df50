package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// SCRAM credentials (RFC 5802, KIP-84, KIP-554), stored as Kafka stores
// them: a user's entity configuration in the coordination store
// (/config/users/<user>, zk.go) has, per mechanism, the credential
//
//	salt=<base64>,stored_key=<base64>,server_key=<base64>,iterations=<n>
//
// (Kafka's ScramCredentialUtils.credentialToString; part of the format,
// do not change), where, for the mechanism's hash H,
//
//	client_key = HMAC(salted_password, "Client Key")
//	stored_key = H(client_key)
//	server_key = HMAC(salted_password, "Server Key")
//
// The password itself is never stored, nor sent: AlterUserScramCredentials
// carries the salt and the salted password the client computed.
//
// Where the state lives: the store is the truth. DescribeUserScram-
// Credentials reads it, AlterUserScramCredentials reads, changes and
// writes it, then notifies the other brokers (/config/changes). A broker
// that serves SCRAM on some listener keeps the credentials in scramCache
// for its SASL exchanges (sasl.go): loaded at recovery, reloaded whenever
// a change notification appears (a child watch on /config/changes), and
// updated at once after its own writes.

// Kafka's ScramMechanism types, as the SCRAM APIs carry them.
const (
	scramTypeSHA256 int8 = 1
	scramTypeSHA512 int8 = 2
	// Kafka's bounds on a credential's iterations.
	scramIterationsMin = 4096
	scramIterationsMax = 16384
)

func scramMechanismName(t int8) (string, bool) {
	switch t {
	case scramTypeSHA256:
		return MechanismSCRAMSHA256, true
	case scramTypeSHA512:
		return MechanismSCRAMSHA512, true
	}
	return "", false
}

func scramMechanismType(name string) int8 {
	if name == MechanismSCRAMSHA512 {
		return scramTypeSHA512
	}
	return scramTypeSHA256
}

// ScramCredential is one user's stored credential for one mechanism.
type ScramCredential struct {
	Salt, StoredKey, ServerKey []byte
	Iterations                 int32
}

// String is Kafka's stored form of a credential.
func (c ScramCredential) String() string {
	e := base64.StdEncoding
	return fmt.Sprintf("salt=%s,stored_key=%s,server_key=%s,iterations=%d",
		e.EncodeToString(c.Salt), e.EncodeToString(c.StoredKey), e.EncodeToString(c.ServerKey), c.Iterations)
}

// ParseScramCredential reads Kafka's stored form of a credential.
func ParseScramCredential(s string) (ScramCredential, error) {
	var c ScramCredential
	seen := 0
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return c, fmt.Errorf("invalid SCRAM credential %q", kv)
		}
		var err error
		switch k {
		case "salt":
			c.Salt, err = base64.StdEncoding.DecodeString(v)
		case "stored_key":
			c.StoredKey, err = base64.StdEncoding.DecodeString(v)
		case "server_key":
			c.ServerKey, err = base64.StdEncoding.DecodeString(v)
		case "iterations":
			var n int64
			n, err = strconv.ParseInt(v, 10, 32)
			c.Iterations = int32(n)
		default:
			continue // Kafka ignores other properties
		}
		if err != nil {
			return c, fmt.Errorf("invalid SCRAM credential %s: %v", k, err)
		}
		seen++
	}
	if seen != 4 {
		return c, fmt.Errorf("invalid SCRAM credential: want salt, stored_key, server_key and iterations")
	}
	return c, nil
}

// NewScramCredential is Kafka's ScramFormatter.generateCredential: the
// stored credential of a salted password.
func NewScramCredential(mechanism string, salt, saltedPassword []byte, iterations int32) ScramCredential {
	h := sha256.New
	if mechanism == MechanismSCRAMSHA512 {
		h = sha512.New
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	clientKey := mac(saltedPassword, "Client Key")
	var hh hash.Hash = h()
	hh.Write(clientKey)
	return ScramCredential{Salt: append([]byte(nil), salt...), StoredKey: hh.Sum(nil),
		ServerKey: mac(saltedPassword, "Server Key"), Iterations: iterations}
}

// scramCache is a SCRAM-serving broker's copy of the credentials, by
// user and mechanism; epoch orders reloads (a reload's result is dropped
// when a newer one began).
type scramCache struct {
	users map[string]map[string]ScramCredential
	epoch int
}

// servesSCRAM says whether a listener of this broker serves SCRAM.
func (b *Broker) servesSCRAM() bool {
	// order-independent: an existence test
	for _, l := range b.cfg.SASL {
		if containsString(l.Mechanisms, MechanismSCRAMSHA256) || containsString(l.Mechanisms, MechanismSCRAMSHA512) {
			return true
		}
	}
	return false
}

// userConfig parses a /config/users/<user> document (nil data: none).
func userConfig(data []byte) (map[string]string, error) {
	if len(data) == 0 {
		return map[string]string{}, nil
	}
	var z configZnode
	if err := json.Unmarshal(data, &z); err != nil {
		return nil, err
	}
	if z.Config == nil {
		z.Config = map[string]string{}
	}
	return z.Config, nil
}

// scramOf is the SCRAM credentials of a user's configuration; entries
// that do not parse are left out.
func scramOf(config map[string]string) map[string]ScramCredential {
	out := map[string]ScramCredential{}
	for _, m := range []string{MechanismSCRAMSHA256, MechanismSCRAMSHA512} {
		if v, ok := config[m]; ok {
			if c, err := ParseScramCredential(v); err == nil {
				out[m] = c
			}
		}
	}
	return out
}

// recoverScram fills the cache from the recovered znodes.
func (b *Broker) recoverScram(byPath map[string][]byte) {
	if !b.servesSCRAM() {
		return
	}
	b.scram.users = map[string]map[string]ScramCredential{}
	for _, path := range sortedKeys(byPath) {
		name, ok := strings.CutPrefix(path, zkUsers)
		if !ok || strings.Contains(name, "/") {
			continue
		}
		b.cacheUser(name, byPath[path])
	}
}

// cacheUser records a user's credentials from its znode (sanitized name).
func (b *Broker) cacheUser(sanitized string, data []byte) {
	user, err := desanitizeName(sanitized)
	if err != nil {
		return
	}
	config, err := userConfig(data)
	if err != nil {
		return
	}
	creds := scramOf(config)
	_, known := b.scram.users[user]
	switch {
	case len(creds) == 0:
		delete(b.scram.users, user)
	case known || len(b.scram.users) < b.cfg.SASLConfig.SCRAMUsersMax:
		b.scram.users[user] = creds
	}
}

// watchUserChanges reloads the credentials and watches /config/changes
// for the next change; called at registration (every new session) and
// when the watch fires.
func (b *Broker) watchUserChanges() {
	if !b.servesSCRAM() {
		return
	}
	b.scram.epoch++
	epoch := b.scram.epoch
	b.coordRead(CoordOp{Kind: CoordChildren, Path: zkConfigChange, Watch: true}, func(r CoordResult) {
		if r.Err != nil || epoch != b.scram.epoch {
			return
		}
		b.readUsers(func(users map[string][]byte, err error) {
			if err != nil || epoch != b.scram.epoch {
				return
			}
			b.scram.users = map[string]map[string]ScramCredential{}
			for _, name := range sortedKeys(users) {
				b.cacheUser(name, users[name])
			}
		})
	})
}

// readUsers reads every /config/users/<user> document, by sanitized name.
func (b *Broker) readUsers(done func(map[string][]byte, error)) {
	b.coordRead(CoordOp{Kind: CoordChildren, Path: strings.TrimSuffix(zkUsers, "/")}, func(r CoordResult) {
		if errors.Is(r.Err, ErrCoordNoNode) {
			done(map[string][]byte{}, nil)
			return
		}
		if r.Err != nil {
			done(nil, r.Err)
			return
		}
		out := map[string][]byte{}
		pending := 1
		var failed error
		finish := func() {
			if pending--; pending == 0 {
				done(out, failed)
			}
		}
		for _, name := range r.Children {
			pending++
			b.coordRead(CoordOp{Kind: CoordGet, Path: zkUsers + name}, func(r CoordResult) {
				switch {
				case r.Err == nil:
					out[name] = r.Data
				case !errors.Is(r.Err, ErrCoordNoNode):
					failed = r.Err
				}
				finish()
			})
		}
		finish()
	})
}
